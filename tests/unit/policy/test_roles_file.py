"""runbooks/policy/roles.yaml: defaults, validation, lint, schema, reload, and the access rules for roles."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.policy.access import (
    ROLE_OTHER,
    ROLE_SELF,
    AccessPolicy,
    AccessRole,
    Actor,
    Allow,
    Refusal,
    decide,
    role_action,
)
from bot.policy.roles_file import (
    COMMANDER,
    RoleBook,
    check_roles_file,
    load_roles_config,
    roles_json_schema,
    roles_path,
)
from bot.runbooks.lint import lint_paths
from bot.runbooks.problems import Level

ROOT = Path(__file__).resolve().parents[3]
ME, OTHER = "U0ME", "U0OTHER"


def test_defaults_when_absent_are_commander_communications_and_scribe(tmp_path: Path) -> None:
    config = load_roles_config(tmp_path / "roles.yaml")
    assert config.names() == ["commander", "communications", "scribe"]
    assert all(r.instructions for r in config.roles)
    assert config.get(" Scribe ") is not None and config.get("wizard") is None


def test_commander_is_always_a_role_and_names_are_unique(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("roles:\n  - {name: scribe, instructions: write it down}\n  - {name: ops-liaison}\n")
    config = load_roles_config(path)
    assert config.names() == [COMMANDER, "scribe", "ops-liaison"]
    assert config.get("ops-liaison") is not None and config.get("ops-liaison").title == "Ops liaison"  # type: ignore[union-attr]
    path.write_text("roles:\n  - {name: scribe}\n  - {name: scribe}\n")
    problems = check_roles_file(path)
    assert [p.code for p in problems] == ["roles"] and "scribe named more than once" in problems[0].message
    path.write_text("roles:\n  - {name: 'Bad Name!'}\n")
    assert [p.code for p in check_roles_file(path)] == ["roles"]


def test_lint_checks_the_roles_file_in_a_folder_and_named_alone(tmp_path: Path) -> None:
    path = roles_path(tmp_path)
    path.parent.mkdir()
    path.write_text("roles:\n  - {name: scribe, colour: blue}\n")
    problems = lint_paths([tmp_path])
    assert [(p.code, p.level) for p in problems] == [("roles", Level.ERROR)] and "colour" in problems[0].message
    assert [p.code for p in lint_paths([path])] == ["roles"]
    path.write_text("roles:\n  - {name: scribe}\n")
    assert lint_paths([tmp_path]) == []


def test_shipped_roles_file_is_valid_and_its_schema_is_current() -> None:
    shipped = ROOT / "runbooks" / "policy"
    assert check_roles_file(shipped / "roles.yaml") == []
    schema = json.loads((shipped / "roles.schema.json").read_text())
    assert schema == roles_json_schema(), "regenerate: runbookctl schema roles > runbooks/policy/roles.schema.json"


def test_book_rereads_on_change_and_keeps_the_last_good_roles(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    book = RoleBook(path)
    assert book.config().names() == ["commander", "communications", "scribe"]
    path.write_text("roles:\n  - {name: commander}\n  - {name: liaison}\n")
    assert book.config().names() == ["commander", "liaison"]
    path.write_text("roles: {broken: true}\n")
    os.utime(path, (1_000_000, 1_000_000))
    assert book.config().names() == ["commander", "liaison"]
    path.write_text("roles:\n  - {name: scribe}\n")
    os.utime(path, (2_000_000, 2_000_000))
    assert book.config().names() == ["commander", "scribe"]


class Facts:
    def __init__(self, commander: str | None) -> None:
        self.commander = commander


def test_role_actions_name_the_commander_rules_for_commander() -> None:
    assert role_action("commander", ME, ME) == "commander-self"
    assert role_action("commander", ME, OTHER) == "commander"
    assert role_action("scribe", ME, ME) == ROLE_SELF
    assert role_action("scribe", ME, OTHER) == ROLE_OTHER


def test_giving_a_role_needs_the_commander_once_there_is_one_taking_one_needs_a_responder() -> None:
    policy = AccessPolicy()
    responder = Actor(ME, frozenset({AccessRole.RESPONDER}))
    nobody = Actor(ME, frozenset())
    assert isinstance(decide(responder, ROLE_OTHER, Facts(None), policy), Allow)
    assert isinstance(decide(responder, ROLE_OTHER, Facts(OTHER), policy), Refusal)
    assert isinstance(decide(responder, ROLE_OTHER, Facts(ME), policy), Allow)  # the commander herself
    assert isinstance(decide(responder, ROLE_SELF, Facts(OTHER), policy), Allow)
    assert isinstance(decide(nobody, ROLE_SELF, Facts(None), policy), Refusal)
