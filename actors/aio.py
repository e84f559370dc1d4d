from actors._lib.aio import *  # noqa: F403  (moved to actors/_lib/aio.py; old imports keep working)
