from actors._lib.codec import *  # noqa: F403  (moved to actors/_lib/codec.py; old imports keep working)
