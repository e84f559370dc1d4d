from actors._lib.secrets import *  # noqa: F403  (moved to actors/_lib/secrets.py; old imports keep working)
