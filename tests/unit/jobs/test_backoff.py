"""Backoff: exponential growth, a hard cap, jitter within its band."""

from __future__ import annotations

import pytest

from bot.jobs.backoff import Backoff


def test_delays_double_until_the_cap_without_jitter() -> None:
    backoff = Backoff(base_s=1.0, cap_s=10.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.5, 0.999])
def test_jitter_stays_in_its_band_and_under_the_cap(draw: float) -> None:
    backoff = Backoff(base_s=1.0, cap_s=10.0, jitter=0.3, rand=lambda: draw)
    assert 2.8 <= backoff.delay(3) <= 5.2
    assert backoff.delay(3) == pytest.approx(4.0 + 4.0 * 0.3 * (2 * draw - 1))
    assert 7.0 <= backoff.delay(20) <= 10.0


def test_jitter_spreads_two_draws() -> None:
    low = Backoff(rand=lambda: 0.0).delay(2)
    high = Backoff(rand=lambda: 1.0).delay(2)
    assert low < 2.0 < high
