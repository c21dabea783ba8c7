"""Exponential backoff with jitter, capped: how long a durable job waits before its next attempt."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1 after n failures: base·factor^(n-1), capped, spread by ±jitter."""

    base_s: float = 1.0
    cap_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.3
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` failed attempts (1 = the first failure); never above the cap."""
        raw = min(self.cap_s, self.base_s * self.factor ** max(0, failures - 1))
        # Jitter spreads replicas that failed together; the cap stays a hard upper bound.
        spread = raw * self.jitter * (2 * self.rand() - 1)
        return max(0.0, min(self.cap_s, raw + spread))
