"""Load, dump, load gives the same runbook (property test)."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.runbooks.loader import load_text
from bot.runbooks.schema import Runbook, dump_runbook

ids = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
conditions = st.sampled_from(["true", "value > 1", "result.x == 'a' || no_data", "size(result.rows) >= 2"])
durations = st.one_of(st.floats(min_value=0.5, max_value=3600), st.sampled_from(["30s", "5m", "1h", "250ms"]))


@st.composite
def runbooks(draw: st.DrawFn) -> dict[str, object]:
    step_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    diagnostics = [
        {
            "id": f"d_{i}",
            "name": draw(text.filter(str.strip)),
            "type": "prometheus_query",
            "config": {"query": draw(text), "n": draw(st.integers()), "flag": draw(st.booleans())},
            "timeout": draw(durations),
            "interpret": {"critical": draw(conditions), "no_data": draw(st.sampled_from([None, "healthy"]))},
        }
        for i in range(draw(st.integers(0, 3)))
    ]
    remediations = [
        {
            "id": step,
            "name": draw(text.filter(str.strip)),
            "kind": "automated",
            "action": {"type": "notify", "config": {"text": draw(text)}},
            "safety": {"approvers": draw(st.lists(text, max_size=2)), "max_per_hour": draw(st.integers(1, 9))},
            "timeout": draw(durations),
        }
        for step in step_ids
    ]
    decision = {"id": "pick", "when": "diagnostics.size() >= 0", "offer": step_ids, "stop": draw(st.booleans())}
    return {
        "id": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)),
        "name": draw(text.filter(str.strip)),
        "description": draw(text),
        "version": draw(st.integers(1, 1000)),
        "owner": "@team",
        "service": draw(st.sampled_from(["*", "pay"])),
        "severity": draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
        "environments": draw(st.lists(st.sampled_from(["prod", "staging", "dev"]), unique=True)),
        "triggers": [{"alert": draw(text.filter(str.strip)), "labels": draw(st.dictionaries(ids, text, max_size=2))}],
        "diagnostics": diagnostics,
        "decisions": [decision],
        "remediations": remediations,
    }


@settings(max_examples=60, deadline=None)
@given(runbooks())
def test_load_dump_load_round_trips(data: dict[str, object]) -> None:
    first, problems = load_text(yaml.safe_dump(data, allow_unicode=True), "a.yaml")
    assert first is not None, problems
    dumped = yaml.safe_dump(dump_runbook(first.runbook), allow_unicode=True, sort_keys=False)
    second, problems = load_text(dumped, "b.yaml")
    assert second is not None, problems
    assert second.runbook == first.runbook
    assert dump_runbook(second.runbook) == dump_runbook(first.runbook)
    assert Runbook.model_validate(dump_runbook(first.runbook)) == first.runbook
