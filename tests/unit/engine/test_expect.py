"""check_expectation: success and every pattern must hold."""

from __future__ import annotations

from bot.engine.expect import check_expectation
from hooks.base import ActionOutput

OUT = ActionOutput(ok=True, output="deployment.apps/orders restarted\nreplicas: 3/3 ready")


def test_all_patterns_must_match() -> None:
    assert check_expectation(OUT, [r"restarted$", r"replicas: (\d+)/\1"], allow_failure=False) == (
        True,
        "all 2 patterns matched",
    )
    passed, reason = check_expectation(OUT, [r"restarted", r"0/3"], allow_failure=False)
    assert not passed and reason == "output does not match '0/3'"


def test_failure_fails_unless_allowed() -> None:
    failed = ActionOutput(ok=False, output="error: timed out\nexit 1")
    assert check_expectation(failed, [], allow_failure=False) == (False, "the action reported failure: exit 1")
    passed, reason = check_expectation(failed, ["timed out"], allow_failure=True)
    assert passed and "allows" in reason
    assert not check_expectation(failed, ["never"], allow_failure=True)[0]


def test_invalid_pattern_fails_closed() -> None:
    passed, reason = check_expectation(OUT, ["("], allow_failure=False)
    assert not passed and reason.startswith("invalid expectation pattern")


def test_no_patterns_success() -> None:
    assert check_expectation(ActionOutput(ok=True), [], allow_failure=False) == (True, "no output pattern declared")
