from actors.domain.pricing import *  # noqa: F403  (moved to actors/domain/pricing.py; old imports keep working)
