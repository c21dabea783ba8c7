"""Channel names follow Slack's rules whatever the alert says."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.naming import MAX_LEN, channel_name, sanitise, with_suffix

VALID = re.compile(r"^[a-z0-9_-]{1,80}$")


def test_template_renders_and_sanitises() -> None:
    name = channel_name("inc-{number}-{service}-{title}", 42, "Payment Service", "High latency (p99 > 2s)!")
    assert name == "inc-42-payment-service-high-latency-p99-2s"


def test_accents_and_emoji_are_dropped() -> None:
    assert sanitise("Zürich 🔥 Café") == "zurich-cafe"
    assert sanitise("🔥🔥") == "incident"


def test_suffix_keeps_within_limit() -> None:
    long_name = "a" * 80
    assert with_suffix(long_name, 0) == long_name
    assert with_suffix(long_name, 1) == "a" * 78 + "-2"
    assert len(with_suffix(long_name, 12)) == MAX_LEN


@given(st.text(), st.integers(min_value=1, max_value=10**9), st.text())
def test_any_input_gives_a_valid_name(title: str, number: int, service: str) -> None:
    name = channel_name("inc-{number}-{service}-{title}", number, service, title)
    assert VALID.match(name)
    for attempt in range(5):
        assert VALID.match(with_suffix(name, attempt))
