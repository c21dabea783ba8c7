"""Each broken runbook under tests/fixtures/runbooks/broken yields its expected message at the marked line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.runbooks.lint import lint_file, lint_paths
from bot.runbooks.problems import Level

from .conftest import FIXTURES

BROKEN = sorted((FIXTURES / "broken").glob("*.yaml"))


def expectation(path: Path) -> tuple[str, int]:
    text = path.read_text()
    message = re.search(r"^# expect: (.+)$", text, re.M)
    assert message, f"{path.name} has no '# expect:' line"
    line = re.search(r"^# expect-line: (\d+)$", text, re.M)
    if line:
        return message.group(1), int(line.group(1))
    marked = [n for n, row in enumerate(text.splitlines(), 1) if "# <-- here" in row]
    assert len(marked) == 1, f"{path.name} needs exactly one '# <-- here' marker"
    return message.group(1), marked[0]


def test_there_are_enough_broken_fixtures() -> None:
    assert len(BROKEN) >= 15


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_runbook_reports_expected_problem_at_line(path: Path) -> None:
    message, line = expectation(path)
    _, problems = lint_file(path)
    hits = [p for p in problems if message in p.message]
    assert hits, f"{message!r} not in {[str(p) for p in problems]}"
    assert hits[0].line == line, str(hits[0])
    assert hits[0].file == str(path)


def test_valid_fixture_is_clean() -> None:
    assert lint_paths([FIXTURES / "valid"]) == []


def test_warnings_do_not_count_as_errors() -> None:
    _, problems = lint_file(FIXTURES / "broken" / "unreachable.yaml")
    assert {p.level for p in problems} == {Level.WARNING}


def test_duplicate_runbook_ids_across_files(tmp_path: Path) -> None:
    text = (FIXTURES / "valid" / "minimal.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    problems = lint_paths([tmp_path])
    assert [p.message for p in problems] == [f"runbook id 'broken' already used by {tmp_path / 'a.yaml'}"]
