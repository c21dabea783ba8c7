"""What the gateway remembers of its recent attempts, on its own clock (for tests and debugging)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Attempt:
    """One HTTP attempt on the gateway's clock: sent, answered (None while in flight), and a 429's Retry-After."""

    method: str
    channel: str | None
    sent_at: float
    answered_at: float | None = None
    status: str = ""
    retry_after: float = 0.0
