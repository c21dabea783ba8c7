"""A problem found in a runbook, with the file position it points at."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """How bad a problem is: errors keep a runbook out of the catalog, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One schema or semantic problem at file:line:column (1-based)."""

    file: str
    line: int
    column: int
    message: str
    level: Level = Level.ERROR
    code: str = "schema"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.level.value}: {self.message} [{self.code}]"


def has_errors(problems: list[Problem]) -> bool:
    """Whether any problem is an error."""
    return any(p.level is Level.ERROR for p in problems)
