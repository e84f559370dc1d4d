"""Old path of `actors.market_data.cutter` (old names kept for old imports)."""
from actors.market_data.cutter import TRADE_CAP, Book, Chunk  # noqa: F401
from actors.market_data.cutter import LazySnapshot as Cut  # noqa: F401
from actors.market_data.cutter import SnapshotCutter as LockstepFeed  # noqa: F401
