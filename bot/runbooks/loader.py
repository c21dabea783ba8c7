"""Read runbook YAML keeping every node's line and column, so each problem points at file:line:column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.runbooks.conditions import ConditionSyntaxError
from bot.runbooks.problems import Level, Problem
from bot.runbooks.schema import Loc, Runbook, iter_conditions


@dataclass
class Positions:
    """YAML nodes by their path in the document; a path that does not exist maps to its parent's position."""

    nodes: dict[Loc, tuple[yaml.Node | None, yaml.Node]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def node(self, loc: Loc) -> yaml.Node | None:
        """The value node at `loc` or at its nearest existing parent."""
        loc = tuple(loc)
        while loc and loc not in self.nodes:
            loc = loc[:-1]
        return self.nodes[loc][1] if loc in self.nodes else None

    def at(self, loc: Loc) -> tuple[int, int]:
        """1-based (line, column): the value for scalars, the key for collections, the parent when missing."""
        loc = tuple(loc)
        while loc and loc not in self.nodes:
            loc = loc[:-1]
        if loc not in self.nodes:
            return 1, 1
        key, value = self.nodes[loc]
        mark = value.start_mark if isinstance(value, yaml.ScalarNode) or key is None else key.start_mark
        return mark.line + 1, mark.column + 1

    def key_at(self, loc: Loc) -> tuple[int, int]:
        """1-based (line, column) of the key naming `loc`, or of its nearest existing parent."""
        loc = tuple(loc)
        while loc and loc not in self.nodes:
            loc = loc[:-1]
        key = self.nodes[loc][0] if loc in self.nodes else None
        if key is None:
            return self.at(loc)
        return key.start_mark.line + 1, key.start_mark.column + 1

    def inside(self, loc: Loc, line: int, column: int) -> tuple[int, int]:
        """File position of (line, column) inside the scalar at `loc`, e.g. a CEL error's own position."""
        node = self.node(loc)
        if not isinstance(node, yaml.ScalarNode):
            return self.at(loc)
        start = node.start_mark
        content = str(node.value).rstrip("\n").splitlines() or [""]
        if line > len(content):  # an error at the end of input points at the end of the last line
            line, column = len(content), len(content[-1]) + 1
        if node.style in ("|", ">"):
            first = start.line + 1
            text = self.lines[first] if first < len(self.lines) else ""
            indent = len(text) - len(text.lstrip(" "))
            return first + line, indent + column
        if line == 1:
            return start.line + 1, start.column + column + (1 if node.style in ('"', "'") else 0)
        return start.line + line, column


@dataclass
class LoadedRunbook:
    """A runbook that passed the schema, where it came from, and its node positions."""

    runbook: Runbook
    file: str
    positions: Positions


def read_positions(text: str, file: str) -> tuple[Any, Positions, list[Problem]]:
    """Parse YAML into plain data plus positions; duplicate keys and syntax errors become problems."""
    positions = Positions(lines=text.splitlines())
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        context = exc.context_mark
        where = f" ({exc.context} at line {context.line + 1})" if exc.context and context else ""
        return None, positions, [Problem(file, line, column, f"YAML: {exc.problem or exc}{where}", code="yaml")]
    finally:
        loader.dispose()
    problems: list[Problem] = []
    if root is not None:
        positions.nodes[()] = (None, root)
        _walk(root, (), positions, problems, file)
    return data, positions, problems


def _walk(node: yaml.Node, loc: Loc, positions: Positions, problems: list[Problem], file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark)
            if name in seen:
                mark = key.start_mark
                problems.append(Problem(file, mark.line + 1, mark.column + 1, f"duplicate key {name!r}", code="yaml"))
            seen.add(name)
            positions.nodes[(*loc, name)] = (key, value)
            _walk(value, (*loc, name), positions, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            positions.nodes[(*loc, index)] = (None, item)
            _walk(item, (*loc, index), positions, problems, file)


def format_loc(loc: Loc) -> str:
    """`remediations[2].safety.approvers` from a loc tuple."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "runbook"


def _schema_problems(exc: ValidationError, positions: Positions, file: str) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        line, column = positions.key_at(loc) if error["type"] == "extra_forbidden" else positions.at(loc)
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ConditionSyntaxError):
            line, column = positions.inside(loc, cause.line, cause.column)
        code = "cel" if isinstance(cause, ConditionSyntaxError) else "schema"
        problems.append(Problem(file, line, column, _message(error, loc), code=code))
    return problems


def _message(error: Any, loc: Loc) -> str:
    kind, msg = error["type"], str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"unknown field {loc[-1]!r} in {format_loc(loc[:-1])}"
    if kind == "missing":
        return f"missing required field {loc[-1]!r} in {format_loc(loc[:-1])}"
    return f"{format_loc(loc)}: {msg}"


def load_text(text: str, file: str = "<runbook>") -> tuple[LoadedRunbook | None, list[Problem]]:
    """Parse and validate one runbook's YAML text; returns the runbook (None on errors) and every problem."""
    data, positions, problems = read_positions(text, file)
    if any(p.level is Level.ERROR for p in problems) and data is None:
        return None, problems
    if not isinstance(data, dict):
        return None, [*problems, Problem(file, 1, 1, "a runbook must be a YAML mapping")]
    try:
        runbook = Runbook.model_validate(data)
    except ValidationError as exc:
        return None, problems + _schema_problems(exc, positions, file)
    for loc, condition, _ in iter_conditions(runbook):
        line, column = positions.at(loc)
        condition.where = f"{file}:{line}:{column}"
    return LoadedRunbook(runbook, file, positions), problems


def load_file(path: Path) -> tuple[LoadedRunbook | None, list[Problem]]:
    """Load one runbook file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 1, 1, f"cannot read: {exc}", code="io")]
    return load_text(text, str(path))
