"""The runbook folder watcher: a new, changed or removed file reloads the catalog, and says so."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.runbooks.catalog import load_catalog
from bot.runbooks.watcher import CatalogWatcher, changed_files

RUNBOOK = """id: {id}
name: {name}
owner: "@team"
service: api
triggers: [{{alert: {alert}}}]
"""


def write(folder: Path, rid: str, name: str = "A runbook", alert: str = "ApiDown") -> Path:
    path = folder / f"{rid}.yaml"
    path.write_text(RUNBOOK.format(id=rid, name=name, alert=alert))
    return path


def test_changed_files_sees_added_removed_and_modified() -> None:
    before = {"a": (1.0, 10), "b": (1.0, 10), "c": (1.0, 10)}
    after = {"a": (1.0, 10), "b": (2.0, 10), "d": (1.0, 5)}
    assert changed_files(before, after) == ["b", "c", "d"]


def test_a_new_file_is_loaded_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "first")
    catalog = load_catalog(tmp_path)
    watcher = CatalogWatcher(catalog)
    assert watcher.check() == []  # nothing changed: no reload
    write(tmp_path, "second", alert="DiskFull")
    with caplog.at_level(logging.INFO, logger="bot.runbooks.watcher"):
        assert watcher.check() == [str(tmp_path / "second.yaml")]
    assert set(catalog.runbooks) == {"first", "second"}
    assert any("runbooks reloaded (second.yaml changed): 2 loaded" in r.getMessage() for r in caplog.records)


def test_an_edit_and_a_removal_are_picked_up(tmp_path: Path) -> None:
    path = write(tmp_path, "first")
    write(tmp_path, "second")
    catalog = load_catalog(tmp_path)
    watcher = CatalogWatcher(catalog)
    write(tmp_path, "first", name="A renamed runbook")
    os.utime(path, (1, 1))  # a different mtime even on coarse clocks
    assert watcher.check() == [str(path)]
    assert catalog.runbooks["first"].name == "A renamed runbook"
    (tmp_path / "second.yaml").unlink()
    watcher.check()
    assert set(catalog.runbooks) == {"first"}


def test_a_broken_edit_keeps_the_last_good_version_and_logs_the_problem(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "first")
    catalog = load_catalog(tmp_path)
    watcher = CatalogWatcher(catalog)
    path.write_text("id: first\nname: [broken\n")
    with caplog.at_level(logging.INFO, logger="bot.runbooks.watcher"):
        watcher.check()
    assert catalog.runbooks["first"].name == "A runbook"
    assert any("runbook problem" in r.getMessage() for r in caplog.records)
