"""Reload the catalog when a runbook file is added, changed or removed: poll the folder's mtimes, log each reload."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.runbooks.catalog import Catalog
from bot.runbooks.lint import runbook_files
from bot.runbooks.problems import has_errors

log = logging.getLogger(__name__)

Snapshot = dict[str, tuple[float, int]]


def snapshot(root: Path) -> Snapshot:
    """(mtime, size) of every runbook file in the folder; a file gone between listing and stat is left out."""
    found: Snapshot = {}
    for path in runbook_files([root]) if root.is_dir() else []:
        try:
            stat = path.stat()
        except OSError:
            continue
        found[str(path)] = (stat.st_mtime, stat.st_size)
    return found


def changed_files(before: Snapshot, after: Snapshot) -> list[str]:
    """Files added, removed or modified between two snapshots, sorted."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


class CatalogWatcher:
    """Polls `catalog.root`; a change reloads the whole catalog (a broken file keeps its last good version)."""

    def __init__(self, catalog: Catalog, interval_s: float = 2.0) -> None:
        self.catalog = catalog
        self.interval_s = interval_s
        self.seen = snapshot(catalog.root)

    def check(self) -> list[str]:
        """Reload if anything changed since the last check; returns the changed files (empty: nothing done)."""
        now = snapshot(self.catalog.root)
        changed = changed_files(self.seen, now)
        if not changed:
            return []
        self.seen = now
        problems = self.catalog.reload()
        names = ", ".join(Path(c).name for c in changed)
        log.info(
            "runbooks reloaded (%s changed): %d loaded, %d problem(s)",
            names,
            len(self.catalog.runbooks),
            len(problems),
            extra={"changed": changed},
        )
        for problem in problems:
            (log.warning if has_errors([problem]) else log.info)("runbook problem: %s", problem)
        return changed

    async def run(self) -> None:
        """Check every interval until cancelled; a failed check is logged and the next one tries again."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await asyncio.to_thread(self.check)
            except Exception:
                log.exception("runbook reload failed; the previous catalog stays")
