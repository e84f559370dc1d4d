from actors._lib.faults import *  # noqa: F403  (moved to actors/_lib/faults.py; old imports keep working)
