"""CEL conditions: compiled when a runbook loads, evaluated with data bound as variables, failing closed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cel
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")
# Comprehension macros bind their own variable (`x` in `list.exists(x, x > 1)`); it is not an outside name.
_MACRO_VARIABLE = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


class ConditionSyntaxError(ValueError):
    """A CEL expression that does not compile; `line` and `column` are inside the expression (1-based)."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one condition: `matched` is False whenever `error` is set."""

    matched: bool
    error: str | None = None


class Condition:
    """A compiled CEL expression with its source text and, once loaded, its file position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.where = ""
        try:
            self.program: Any = cel.compile(text)
        except ValueError as exc:
            raise _syntax_error(str(exc)) from None

    def variables(self) -> set[str]:
        """Outside variable names the expression reads (macro-bound names excluded)."""
        bound = set(_MACRO_VARIABLE.findall(self.text))
        return {str(v) for v in self.program.variables()} - bound

    def evaluate(self, bindings: Mapping[str, Any]) -> Evaluation:
        """Evaluate; any error or a non-boolean result is recorded and counts as false (fail closed)."""
        try:
            result = self.program.execute(dict(bindings))
        except Exception as exc:  # the CEL runtime raises RuntimeError, TypeError, KeyError, ZeroDivisionError...
            return Evaluation(False, f"{type(exc).__name__}: {_first_line(exc)}")
        if not isinstance(result, bool):
            return Evaluation(False, f"expression returned {type(result).__name__}, not bool")
        return Evaluation(result)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.coerce, serialization=core_schema.plain_serializer_function_ser_schema(lambda c: c.text)
        )

    @classmethod
    def coerce(cls, value: Any) -> Condition:
        """A Condition from a Condition or from expression text."""
        if isinstance(value, Condition):
            return value
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected a CEL expression (a non-empty string)")
        return cls(value)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "minLength": 1, "description": "A CEL expression (https://cel.dev)."}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _syntax_error(raw: str) -> ConditionSyntaxError:
    found = _CEL_POSITION.search(raw)
    if not found:
        return ConditionSyntaxError(f"CEL does not compile: {raw.splitlines()[0] if raw else 'empty'}")
    line, column, detail = int(found.group(1)), int(found.group(2)), found.group(3)
    # The expected-token list ANTLR appends is long and rarely helps a runbook author.
    detail = detail.split(" expecting ")[0]
    return ConditionSyntaxError(f"CEL does not compile ({line}:{column}): {detail}", line, column)
