"""The runbook catalog: load a folder, report every problem, match alerts to runbooks, reload on demand."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from bot.alerts import Alert
from bot.errors import RunbookError
from bot.runbooks.lint import lint_file, runbook_files
from bot.runbooks.problems import Problem, has_errors
from bot.runbooks.schema import Runbook, Trigger

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_STOPWORDS = frozenset({"the", "and", "for", "is", "are", "with", "from", "too", "high", "any", "service", "alert"})


def alert_binding(alert: Alert) -> dict[str, Any]:
    """What CEL sees as `alert`."""
    return alert.model_dump(mode="json")


def words(text: str) -> set[str]:
    """Lower-case words of a text, splitting CamelCase and dropping short and common ones."""
    found = {w.lower() for w in _WORD.findall(text)}
    return {w for w in found if len(w) > 2 and w not in _STOPWORDS}


class Catalog:
    """Runbooks loaded from one folder; a file that breaks on reload keeps its last good version."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runbooks: dict[str, Runbook] = {}
        self.files: dict[str, str] = {}
        self.problems: list[Problem] = []
        self.match_errors: list[tuple[str, str]] = []

    def reload(self) -> list[Problem]:
        """Read the folder again; returns (and keeps) every problem found."""
        previous = {self.files[rid]: rb for rid, rb in self.runbooks.items()}
        runbooks: dict[str, Runbook] = {}
        files: dict[str, str] = {}
        problems: list[Problem] = []
        for path in runbook_files([self.root]) if self.root.is_dir() else []:
            loaded, found = lint_file(path)
            problems += found
            runbook = loaded.runbook if loaded is not None and not has_errors(found) else previous.get(str(path))
            if runbook is None:
                continue
            if runbook.id in runbooks:
                problems.append(
                    Problem(str(path), 1, 1, f"runbook id {runbook.id!r} already loaded from {files[runbook.id]}")
                )
                continue
            runbooks[runbook.id], files[runbook.id] = runbook, str(path)
        if not self.root.is_dir():
            problems.append(Problem(str(self.root), 1, 1, "runbook folder does not exist", code="io"))
        self.runbooks, self.files, self.problems = runbooks, files, problems
        return problems

    def get(self, runbook_id: str) -> Runbook | None:
        """The runbook with this id, if loaded."""
        return self.runbooks.get(runbook_id)

    def get_or_raise(self, runbook_id: str) -> Runbook:
        """The runbook with this id; raises RunbookError when none is loaded."""
        runbook = self.get(runbook_id)
        if runbook is None:
            raise RunbookError(f"no runbook {runbook_id!r}", fields=["runbook"])
        return runbook

    def match(self, alert: Alert) -> Runbook | None:
        """The runbook for this alert: the most specific matching trigger wins, then an exact service, then id."""
        self.match_errors = []
        binding = alert_binding(alert)
        candidates: list[tuple[int, int, str]] = []
        for runbook in self.runbooks.values():
            if runbook.service not in ("*", alert.service):
                continue
            if runbook.environments and alert.environment not in runbook.environments:
                continue
            for trigger in runbook.triggers:
                if self._trigger_matches(runbook, trigger, alert, binding):
                    candidates.append((-trigger.specificity(), -int(runbook.service == alert.service), runbook.id))
        return self.runbooks[min(candidates)[2]] if candidates else None

    def _trigger_matches(self, runbook: Runbook, trigger: Trigger, alert: Alert, binding: dict[str, Any]) -> bool:
        if trigger.alert is None and not trigger.labels and trigger.filter is None:
            return False  # manual only
        if trigger.alert is not None and trigger.alert != alert.name:
            return False
        if any(alert.labels.get(k) != v for k, v in trigger.labels.items()):
            return False
        if trigger.filter is None:
            return True
        outcome = trigger.filter.evaluate({"alert": binding})
        if outcome.error:
            self.match_errors.append((runbook.id, outcome.error))
            log.warning("trigger filter failed", extra={"runbook": runbook.id, "error": outcome.error})
        return outcome.matched

    def match_symptom(self, service: str | None, text: str) -> list[Runbook]:
        """Runbooks for a service whose alert names, name or description share words with `text`, best first."""
        wanted = words(text)
        ranked: list[tuple[int, int, str]] = []
        for runbook in self.runbooks.values():
            if service and runbook.service not in ("*", service):
                continue
            vocabulary = words(" ".join([runbook.id.replace("-", " "), runbook.name, runbook.description]))
            for trigger in runbook.triggers:
                vocabulary |= words(trigger.alert or "")
            score = len(wanted & vocabulary)
            if score or not wanted:
                ranked.append((score, int(runbook.service == service), runbook.id))
        ranked.sort(key=lambda r: (-r[0], -r[1], r[2]))
        return [self.runbooks[rid] for _, _, rid in ranked]


def load_catalog(root: Path) -> Catalog:
    """A catalog loaded from `root`; read `catalog.problems` for what did not load."""
    catalog = Catalog(root)
    catalog.reload()
    return catalog
