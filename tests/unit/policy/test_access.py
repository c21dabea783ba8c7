"""The access policy: rules, overrides, the file, its reloading, its lint and its schema."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.errors import InvalidInput
from bot.policy.access import (
    COMMANDER_OTHER,
    COMMANDER_SELF,
    AccessPolicy,
    AccessRole,
    Actor,
    Allow,
    Refusal,
    commander_action,
    decide,
)
from bot.policy.access_file import (
    AccessBook,
    access_json_schema,
    access_path,
    check_access_file,
    load_access_policy,
)
from bot.runbooks.lint import lint_paths
from bot.runbooks.problems import Level

R = AccessRole
ROOT = Path(__file__).resolve().parents[3]
ALICE, BOB = "U0ALICE001", "U0BOB00001"


@dataclass(frozen=True)
class Facts:
    commander: str | None = None


def actor(*roles: AccessRole, user: str = ALICE) -> Actor:
    return Actor(user, frozenset(roles))


def test_defaults_resolve_is_for_the_commander_once_there_is_one() -> None:
    assert isinstance(decide(actor(R.RESPONDER), "resolve", Facts()), Allow)
    refused = decide(actor(R.RESPONDER), "resolve", Facts(BOB))
    assert isinstance(refused, Refusal) and refused.rule == "resolve"
    assert "the incident's commander or an incident admin" in refused.text()
    assert isinstance(decide(actor(user=BOB), "resolve", Facts(BOB)), Allow)
    assert isinstance(decide(actor(R.INCIDENT_ADMIN), "resolve", Facts(BOB)), Allow)


def test_a_claimed_commander_role_counts_only_for_the_real_commander() -> None:
    assert isinstance(decide(actor(R.COMMANDER), "pause", Facts(BOB)), Refusal)
    assert isinstance(decide(actor(R.COMMANDER), "ack", None), Refusal)


def test_commander_self_and_other() -> None:
    assert commander_action(ALICE, ALICE) == COMMANDER_SELF and commander_action(ALICE, BOB) == COMMANDER_OTHER
    assert isinstance(decide(actor(R.RESPONDER), COMMANDER_SELF, Facts()), Allow)
    assert isinstance(decide(actor(R.RESPONDER), COMMANDER_SELF, Facts(BOB)), Refusal)
    assert isinstance(decide(actor(R.RESPONDER), COMMANDER_OTHER, Facts()), Refusal)
    assert isinstance(decide(actor(user=BOB), COMMANDER_OTHER, Facts(BOB)), Allow)  # the commander hands on
    assert isinstance(decide(actor(R.INCIDENT_ADMIN), COMMANDER_OTHER, Facts(BOB)), Allow)


def test_anyone_actions_need_no_role_and_unknown_actions_are_closed() -> None:
    for action in ("help", "status", "timeline", "list", "oncall", "declare"):
        assert isinstance(decide(actor(), action, None), Allow)
    refused = decide(actor(), "frobnicate", Facts())
    assert isinstance(refused, Refusal) and refused.rule == "default"


def test_overrides_in_the_file_win_and_protected_environments_compare_without_case(tmp_path: Path) -> None:
    path = access_path(tmp_path)
    path.parent.mkdir()
    path.write_text(
        "incident_admins: [S0SRE00001]\nprotected_environments: [Live]\n"
        "rules:\n  postmortem: {roles: [anyone]}\n  resolve: {roles: [incident-admin]}\n"
    )
    policy = load_access_policy(path)
    assert policy.is_protected("live") and not policy.is_protected("prod")
    assert isinstance(decide(actor(), "postmortem", Facts(), policy), Allow)
    refused = decide(actor(R.RESPONDER), "resolve", Facts(), policy)
    assert isinstance(refused, Refusal) and refused.allowed == (R.INCIDENT_ADMIN,)


def test_absent_file_gives_the_defaults(tmp_path: Path) -> None:
    policy = load_access_policy(tmp_path / "none.yaml")
    assert policy == AccessPolicy() and policy.is_protected("prod") and policy.is_protected("production")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("rules:\n  resolve: {roles: [wizard]}\n", "wizard"),
        ("incident_admin: [U1]\n", "incident_admin"),
        ("rules:\n  resolve: {roles: []}\n", "roles"),
        ("[unclosed\n", "invalid access policy"),
    ],
)
def test_bad_files_raise_naming_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=needle):
        load_access_policy(path)


def test_book_rereads_on_change_and_keeps_the_last_good_policy(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    book = AccessBook(path)
    assert book.policy().incident_admins == []
    path.write_text("incident_admins: [U0ALICE001]\n")
    assert book.policy().incident_admins == [ALICE]
    path.write_text("incident_admins: {broken: true}\n")
    os.utime(path, (1_000_000, 1_000_000))  # a different mtime, even within the same second
    assert book.policy().incident_admins == [ALICE]
    path.write_text("incident_admins: [U0BOB00001]\n")
    os.utime(path, (2_000_000, 2_000_000))
    assert book.policy().incident_admins == [BOB]


def test_lint_reports_a_broken_access_file(tmp_path: Path) -> None:
    path = access_path(tmp_path)
    path.parent.mkdir()
    path.write_text("rules:\n  resolve: {roles: [wizard]}\n")
    problems = lint_paths([tmp_path])
    assert [(p.code, p.level) for p in problems] == [("access", Level.ERROR)] and "wizard" in problems[0].message
    assert [p.code for p in lint_paths([path])] == ["access"]  # named on its own, it is still the access policy
    path.write_text("incident_admins: [bob]\nrules:\n  resolv: {roles: [anyone]}\n")
    found = check_access_file(path)
    assert {(p.level, "resolv" in p.message, "'bob'" in p.message) for p in found} == {
        (Level.WARNING, True, False),
        (Level.ERROR, False, True),
    }


def test_the_shipped_policy_lints_clean_and_its_schema_is_current() -> None:
    assert check_access_file(access_path(ROOT / "runbooks")) == []
    shipped = json.loads((ROOT / "runbooks" / "policy" / "access.schema.json").read_text())
    assert shipped == access_json_schema(), "regenerate: runbookctl schema access > runbooks/policy/access.schema.json"
