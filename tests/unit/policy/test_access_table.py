"""The access table in docs/security.md is what `decide` does: parsed from the doc, checked by hypothesis."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policy.access import DEFAULT_RULES, AccessPolicy, AccessRole, Actor, Allow, Refusal, allowed_roles, decide
from bot.slack import (
    approval_listeners,  # noqa: F401
    incident_commands,  # noqa: F401  (registers the subcommands)
)
from bot.slack.commands import REGISTRY

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|([^|]*)\|([^|]*)\|\s*$")


def parse_table() -> dict[str, tuple[frozenset[AccessRole], frozenset[AccessRole]]]:
    """{action: (roles with a commander, roles without)} from the marked table in docs/security.md."""
    text = DOC.read_text()
    body = text.split("<!-- access-table:start -->", 1)[1].split("<!-- access-table:end -->", 1)[0]
    table: dict[str, tuple[frozenset[AccessRole], frozenset[AccessRole]]] = {}
    for line in body.strip().splitlines():
        match = _ROW.match(line.strip())
        if match:
            action, with_cmd, without = match.groups()
            table[action] = (_roles(with_cmd), _roles(without))
    return table


def _roles(cell: str) -> frozenset[AccessRole]:
    return frozenset(AccessRole(word.strip()) for word in cell.split(",") if word.strip())


TABLE = parse_table()


@dataclass(frozen=True)
class FakeIncident:
    commander: str | None


def test_the_table_names_every_default_rule_and_nothing_else() -> None:
    assert len(TABLE) > 15
    assert set(TABLE) == set(DEFAULT_RULES)


def test_every_registered_subcommand_has_its_own_row() -> None:
    # `new` is declared as `declare`; every other subcommand is named in the table (none falls to `default`).
    names = {"declare" if name == "new" else name for name in REGISTRY}
    assert names <= set(TABLE), names - set(TABLE)


ME, OTHER = "U0ME", "U0OTHER"


@pytest.mark.parametrize("action", sorted(TABLE))
def test_each_row_is_the_rule_decide_applies(action: str) -> None:
    # Deterministic: every row, both states (hypothesis below explores roles and states at random).
    with_cmd, without = TABLE[action]
    assert set(allowed_roles(action, FakeIncident(OTHER), AccessPolicy())[1]) == with_cmd
    assert set(allowed_roles(action, FakeIncident(None), AccessPolicy())[1]) == without


@settings(max_examples=400)
@given(
    action=st.sampled_from([*sorted(TABLE), "not-a-subcommand"]),
    roles=st.frozensets(st.sampled_from([r for r in AccessRole if r is not AccessRole.ANYONE])),
    commander=st.sampled_from([None, ME, OTHER]),
)
def test_decide_matches_the_documented_table(action: str, roles: frozenset[AccessRole], commander: str | None) -> None:
    # The commander role is a fact about the incident: the actor holds it exactly when they are its commander.
    held = (roles - {AccessRole.COMMANDER}) | ({AccessRole.COMMANDER} if commander == ME else set())
    with_cmd, without = TABLE.get(action, TABLE["default"])
    allowed = with_cmd if commander is not None else without
    expected = AccessRole.ANYONE in allowed or bool(held & allowed)
    decision = decide(Actor(ME, frozenset(roles)), action, FakeIncident(commander))
    assert isinstance(decision, Allow) is expected
    if isinstance(decision, Refusal):
        assert set(decision.allowed) == allowed
        assert decision.rule == (action if action in TABLE else "default")
        assert decision.rule in decision.text()
