"""Semantic checks beyond the schema, and linting of files and folders."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from bot.policy.access_file import ACCESS_FILE, access_path, check_access_file
from bot.policy.roles_file import ROLES_FILE, check_roles_file, roles_path
from bot.runbooks.escalation_check import ESCALATION_DIR, check_escalation_folder, check_escalation_reference
from bot.runbooks.hookcheck import check_hooks
from bot.runbooks.loader import LoadedRunbook, load_file
from bot.runbooks.problems import Level, Problem
from bot.runbooks.schema import Loc, Remediation, Runbook, iter_conditions
from bot.statuspage.config import STATUSPAGE_FILE, check_statuspage_file, statuspage_path

PRODUCTION = frozenset({"prod", "production"})
# Telling people is not changing systems: these actions need neither approval nor a rollback.
COMMUNICATION_ACTIONS = frozenset({"notify", "page"})
_NOT_HEALTHY = re.compile(r"\.status\s*!=\s*['\"]healthy['\"]")
_DIAGNOSTIC_REF = re.compile(r"\bdiagnostics\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")


def _problem(loaded: LoadedRunbook, loc: Loc, message: str, code: str, level: Level = Level.ERROR) -> Problem:
    line, column = loaded.positions.at(loc)
    return Problem(loaded.file, line, column, message, level, code)


def check_runbook(loaded: LoadedRunbook) -> list[Problem]:
    """Every semantic problem of a runbook that passed the schema."""
    problems = _check_ids(loaded) + _check_decisions(loaded) + _check_conditions(loaded)
    problems += check_hooks(loaded) + _check_safety(loaded) + check_escalation_reference(loaded)
    return sorted(problems, key=lambda p: (p.line, p.column))


def _check_ids(loaded: LoadedRunbook) -> list[Problem]:
    problems = []
    seen: dict[str, str] = {}
    runbook = loaded.runbook
    groups: list[tuple[str, list[str]]] = [
        ("diagnostics", [d.id for d in runbook.diagnostics]),
        ("remediations", [r.id for r in runbook.remediations]),
    ]
    for section, ids in groups:
        for index, step_id in enumerate(ids):
            if step_id in seen:
                message = f"duplicate step id {step_id!r} (already used in {seen[step_id]})"
                problems.append(_problem(loaded, (section, index, "id"), message, "duplicate-id"))
            seen.setdefault(step_id, section)
    decision_ids: set[str] = set()
    for index, decision in enumerate(runbook.decisions):
        if decision.id in decision_ids:
            message = f"duplicate decision id {decision.id!r}"
            problems.append(_problem(loaded, ("decisions", index, "id"), message, "duplicate-id"))
        decision_ids.add(decision.id)
    return problems


def _check_decisions(loaded: LoadedRunbook) -> list[Problem]:
    runbook = loaded.runbook
    problems = []
    reached: set[str] = set()
    for i, decision in enumerate(runbook.decisions):
        for j, step_id in enumerate(decision.offer):
            loc = ("decisions", i, "offer", j)
            if runbook.remediation(step_id) is not None:
                reached.add(step_id)
            elif runbook.diagnostic(step_id) is not None:
                problems.append(
                    _problem(loaded, loc, f"{step_id!r} is a diagnostic, not a remediation", "unknown-step")
                )
            else:
                problems.append(_problem(loaded, loc, f"decision offers unknown step {step_id!r}", "unknown-step"))
    for index, remediation in enumerate(runbook.remediations):
        if remediation.id not in reached:
            message = f"remediation {remediation.id!r} is offered by no decision"
            problems.append(_problem(loaded, ("remediations", index, "id"), message, "unreachable", Level.WARNING))
    return problems


def _check_conditions(loaded: LoadedRunbook) -> list[Problem]:
    problems = []
    diagnostic_ids = {d.id for d in loaded.runbook.diagnostics}
    for loc, condition, allowed in iter_conditions(loaded.runbook):
        unknown = sorted(condition.variables() - allowed)
        if unknown:
            message = f"unknown variable {', '.join(unknown)} (this expression can use {', '.join(sorted(allowed))})"
            problems.append(_problem(loaded, loc, message, "cel"))
        for found in _DIAGNOSTIC_REF.finditer(condition.text):
            name = found.group(1) or found.group(2)
            if name not in diagnostic_ids:
                problems.append(_problem(loaded, loc, f"condition reads unknown diagnostic {name!r}", "cel"))
        if loc[0] == "decisions" and _NOT_HEALTHY.search(condition.text):
            message = "status != 'healthy' also holds for error and timeout; test for the verdicts you mean"
            problems.append(_problem(loaded, loc, message, "cel", Level.WARNING))
    return problems


def runs_in_production(runbook: Runbook, remediation: Remediation) -> bool:
    """Whether a remediation may run in a production environment."""
    where = remediation.safety.environments or runbook.environments
    return not where or bool(PRODUCTION & set(where))


def _check_safety(loaded: LoadedRunbook) -> list[Problem]:
    runbook = loaded.runbook
    problems = []
    for index, step in enumerate(runbook.remediations):
        loc, safety = ("remediations", index), step.safety
        changes = step.kind == "automated" and step.action is not None and step.action.type not in COMMUNICATION_ACTIONS
        if safety.irreversible and not safety.requires_approval:
            problems.append(_problem(loaded, (*loc, "safety"), "irreversible step without approval", "safety"))
        elif changes and runs_in_production(runbook, step) and not safety.requires_approval:
            problems.append(_problem(loaded, (*loc, "safety"), "production step without approval", "safety"))
        if safety.four_eyes and not safety.requires_approval:
            problems.append(_problem(loaded, (*loc, "safety"), "four_eyes needs requires_approval", "safety"))
        if changes and step.rollback is None and not safety.irreversible:
            message = f"automated step {step.id!r} has no rollback (declare one, or mark it irreversible)"
            problems.append(_problem(loaded, (*loc, "id"), message, "rollback", Level.WARNING))
        outside = sorted(set(safety.environments) - set(runbook.environments)) if runbook.environments else []
        if outside:
            message = f"safety.environments {outside} are not among the runbook's environments"
            problems.append(_problem(loaded, (*loc, "safety", "environments"), message, "safety", Level.WARNING))
    return problems


def runbook_files(paths: Iterable[Path]) -> list[Path]:
    """The runbook files named: files as given, folders' top-level *.yaml and *.yml."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            found.append(path)
    return found


def lint_file(path: Path) -> tuple[LoadedRunbook | None, list[Problem]]:
    """Schema and semantic problems of one file."""
    loaded, problems = load_file(path)
    if loaded is not None:
        problems = problems + check_runbook(loaded)
    return loaded, problems


def lint_paths(paths: Iterable[Path]) -> list[Problem]:
    """Every problem in the named files and folders, including runbook ids used twice."""
    problems: list[Problem] = []
    owners: dict[str, str] = {}
    paths = list(paths)
    for folder in (p for p in paths if p.is_dir()):
        problems += check_escalation_folder(folder / ESCALATION_DIR)
        problems += check_access_file(access_path(folder))
        problems += check_statuspage_file(statuspage_path(folder))
        problems += check_roles_file(roles_path(folder))
    for path in runbook_files(paths):
        if path.name == ACCESS_FILE.name and path.parent.name == ACCESS_FILE.parent.name:
            problems += check_access_file(path)  # named on its own: the access policy, not a runbook
            continue
        if path.name == ROLES_FILE.name and path.parent.name == ROLES_FILE.parent.name:
            problems += check_roles_file(path)
            continue
        if path.name == STATUSPAGE_FILE.name and path.parent.name == STATUSPAGE_FILE.parent.name:
            problems += check_statuspage_file(path)
            continue
        loaded, found = lint_file(path)
        problems += found
        if loaded is None:
            continue
        runbook_id = loaded.runbook.id
        if runbook_id in owners:
            line, column = loaded.positions.at(("id",))
            message = f"runbook id {runbook_id!r} already used by {owners[runbook_id]}"
            problems.append(Problem(loaded.file, line, column, message, code="duplicate-id"))
        owners.setdefault(runbook_id, loaded.file)
    return problems
