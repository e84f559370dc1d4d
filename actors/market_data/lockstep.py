"""Old path of `actors.market_data.cutter` (old names kept for old imports)."""
from actors.market_data.cutter import TRADE_CAP, Book, Chunk, LazySnapshot as Cut, SnapshotCutter as LockstepFeed  # noqa: F401
