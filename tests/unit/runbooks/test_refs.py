"""References resolve as data, never templated."""

from __future__ import annotations

import pytest

from bot.alerts import Alert
from bot.errors import RunbookError
from bot.runbooks.refs import RefContext, find_references, reference_problem, resolve


def ctx(**labels: str) -> RefContext:
    alert = Alert(source="t", name="A", group_key="g", fingerprint="f", title="A", service="pay", labels=labels)
    return RefContext(alert, {"id": "INC-7"})


def test_whole_string_and_embedded_references() -> None:
    config = {"namespace": "${alert.labels.ns}", "q": 'up{svc="${alert.service}"}', "argv": ["x", "${incident.id}"]}
    assert resolve(config, ctx(ns="payments")) == {
        "namespace": "payments",
        "q": 'up{svc="pay"}',
        "argv": ["x", "INC-7"],
    }


def test_whole_string_keeps_any_plain_value_but_embedding_refuses_unsafe_characters() -> None:
    hostile = 'x"} or vector(1) #'
    assert resolve("${alert.labels.ns}", ctx(ns=hostile)) == hostile
    with pytest.raises(RunbookError, match="not allowed inside a string"):
        resolve('up{ns="${alert.labels.ns}"}', ctx(ns=hostile))


def test_absent_label_and_unknown_reference_are_errors() -> None:
    with pytest.raises(RunbookError, match="no value"):
        resolve("${alert.labels.missing}", ctx())
    with pytest.raises(RunbookError, match="unknown reference"):
        resolve("${alert.secret}", ctx())


def test_lint_helpers_find_bad_syntax() -> None:
    found = dict(find_references({"a": ["${alert.labels.x}", "${env.HOME}", "${alert.labels.y"]}))
    assert found[("a", 0)] == "alert.labels.x"
    assert reference_problem("alert.labels.x") is None
    assert reference_problem("env.HOME") is not None
    assert reference_problem(found[("a", 2)]) is not None
