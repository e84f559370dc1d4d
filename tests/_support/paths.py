"""Where things are: the checkout, the shared real market data beside it, the golden runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"  # real Binance data (../shared/data); tests skip what is missing
GOLDEN = ROOT / "tests" / "e2e" / "golden"
