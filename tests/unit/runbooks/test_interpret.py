"""Interpreters: critical, then warning, then healthy; no data; CEL errors as Verdict.ERROR."""

from __future__ import annotations

from bot.engine.types import HookOutput, Verdict
from bot.runbooks.interpret import NO_DATA_NOTE, build_interpreter
from bot.runbooks.schema import Interpret


def block(**kwargs: str) -> Interpret:
    return Interpret.model_validate(kwargs)


def test_checks_critical_before_warning_before_healthy() -> None:
    interpret = build_interpreter(block(critical="value > 90", warning="value > 50", healthy="value <= 50"))
    assert interpret(HookOutput(95)) == (Verdict.CRITICAL, None)
    assert interpret(HookOutput(60)) == (Verdict.WARNING, None)
    assert interpret(HookOutput(10)) == (Verdict.HEALTHY, None)


def test_result_binds_hook_data() -> None:
    interpret = build_interpreter(block(critical="result.oom_killed > 0"))
    assert interpret(HookOutput(1.0, data={"oom_killed": 2}))[0] is Verdict.CRITICAL
    assert interpret(HookOutput(1.0, data={"oom_killed": 0}))[0] is Verdict.HEALTHY


def test_healthy_given_but_nothing_matched_is_a_warning() -> None:
    verdict, note = build_interpreter(block(healthy="value == 0"))(HookOutput(3))
    assert verdict is Verdict.WARNING and note == "no condition matched"


def test_no_data_without_handling_is_a_warning_with_a_note() -> None:
    assert build_interpreter(block(critical="value > 1"))(HookOutput(None, no_data=True)) == (
        Verdict.WARNING,
        NO_DATA_NOTE,
    )
    assert build_interpreter(None)(HookOutput(None, no_data=True)) == (Verdict.WARNING, NO_DATA_NOTE)


def test_explicit_no_data_verdict_and_expressions_reading_no_data() -> None:
    assert build_interpreter(block(no_data="healthy"))(HookOutput(None, no_data=True))[0] is Verdict.HEALTHY
    reads = build_interpreter(block(critical="no_data || value > 5"))
    assert reads(HookOutput(None, no_data=True)) == (Verdict.CRITICAL, None)


def test_cel_error_is_error_verdict_with_the_error_recorded() -> None:
    verdict, note = build_interpreter(block(critical="value > 5"))(HookOutput("lots"))
    assert verdict is Verdict.ERROR
    assert note is not None and note.startswith("critical condition failed") and "overload" in note


def test_missing_interpret_block_is_healthy() -> None:
    assert build_interpreter(None)(HookOutput(7)) == (Verdict.HEALTHY, None)
