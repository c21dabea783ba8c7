"""How long and how often the Slack gateway tries one call (read by the gateway and its sender)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayConfig:
    """How long and how often the gateway tries one call."""

    deadline: float = 120.0  # enqueue to answer, Retry-After waits and retries included
    attempt_timeout: float = 20.0  # one HTTP attempt, slack-sdk's own connection retries included
    max_attempts: int = 5  # 429s and refused connections count; then UpstreamError
    max_in_flight: int = 8
    connect_backoff: float = 1.0  # first pause after a refused connection, doubled each time
    restart_delay: float = 0.5  # first pause before restarting a dead worker, doubled up to max_restart_delay
    max_restart_delay: float = 30.0
