"""One exponential backoff, used by every reconnect and retry loop (and the keeper's order retries).

Each caller keeps its own jitter band, because each was chosen for a reason:
the market stream spreads reconnects over 50-150 % of the step, the user
stream over 50-100 %, and the model client uses full jitter (0-100 %), as
OpenRouter's and AWS's guidance recommend for many clients retrying at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """`next()` gives the delay for the next attempt; `reset()` after a success.

    delay(n) = min(cap, initial * factor**n) * uniform(jitter[0], jitter[1]);
    with `jitter=(1, 1)` it is deterministic (the keeper uses it in market time).
    """

    initial: float
    cap: float
    factor: float = 2.0
    jitter: tuple[float, float] = (0.5, 1.5)
    rand: Callable[[], float] = field(default_factory=lambda: random.Random().random)
    attempt: int = 0

    def step(self, attempt: int | None = None) -> float:
        """The un-jittered delay of `attempt` (default: the next one)."""
        n = self.attempt if attempt is None else attempt
        return min(self.cap, self.initial * self.factor ** min(n, 64))

    def next(self) -> float:
        lo, hi = self.jitter
        delay = self.step() * (lo + (hi - lo) * self.rand()) if hi != lo else self.step() * lo
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
