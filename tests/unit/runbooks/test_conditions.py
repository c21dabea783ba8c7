"""CEL conditions compile at load and fail closed at run time."""

from __future__ import annotations

import pytest

from bot.runbooks.conditions import Condition, ConditionSyntaxError


def test_compiles_and_evaluates_with_bound_data() -> None:
    condition = Condition("value >= 90 && result.host == 'db1'")
    assert condition.evaluate({"value": 95, "result": {"host": "db1"}}).matched
    assert not condition.evaluate({"value": 50, "result": {"host": "db1"}}).matched


def test_syntax_error_carries_line_and_column_inside_the_expression() -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        Condition("value >=")
    assert (caught.value.line, caught.value.column) == (1, 9)
    assert "CEL does not compile (1:9)" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "bindings", "fragment"),
    [
        ("value > 3", {}, "Undefined variable"),  # missing variable
        ("value > 3", {"value": "high"}, "No such overload"),  # type mismatch
        ("result.missing == 1", {"result": {}}, "KeyError"),  # missing key
        ("1 / value == 1", {"value": 0}, "division by zero"),
        ("value", {"value": 1}, "not bool"),  # a non-boolean result never counts as true
    ],
)
def test_runtime_errors_fail_closed_and_are_recorded(text: str, bindings: dict[str, object], fragment: str) -> None:
    outcome = Condition(text).evaluate(bindings)
    assert outcome.matched is False
    assert outcome.error is not None and fragment in outcome.error


def test_data_is_never_spliced_into_expression_text() -> None:
    condition = Condition("alert.name == 'x'")
    hostile = {"alert": {"name": "x' || true || '"}}
    assert condition.evaluate(hostile).matched is False


def test_variables_exclude_macro_bound_names() -> None:
    condition = Condition("result.checks.exists(c, c.latency_ms > 500.0) && value > 1")
    assert condition.variables() == {"result", "value"}


def test_equality_is_by_text() -> None:
    assert Condition("true") == Condition("true")
    assert Condition("true") != Condition("false")
