"""Turn a diagnostic's `interpret` block into an Interpreter: critical, then warning, then healthy."""

from __future__ import annotations

from typing import Any

from bot.engine.types import HookOutput, Interpreter, Verdict
from bot.runbooks.conditions import Condition
from bot.runbooks.schema import Interpret

NO_DATA_NOTE = "no data"


def bindings(output: HookOutput) -> dict[str, Any]:
    """What interpret expressions see: `value`, `result` (the hook's data) and `no_data`."""
    return {"value": output.value, "result": output.data, "no_data": output.no_data}


def build_interpreter(block: Interpret | None) -> Interpreter:
    """An Interpreter for this block; a CEL error gives Verdict.ERROR with the error as the note."""

    def interpret(output: HookOutput) -> tuple[Verdict, str | None]:
        if output.no_data and not _handles_no_data(block):
            return _no_data_verdict(block), NO_DATA_NOTE
        if block is None:
            return Verdict.HEALTHY, None
        values = bindings(output)
        for verdict, condition in _ordered(block):
            outcome = condition.evaluate(values)
            if outcome.error:
                return Verdict.ERROR, f"{verdict.value} condition failed: {outcome.error}"
            if outcome.matched:
                return verdict, None
        if block.healthy is not None:
            return Verdict.WARNING, "no condition matched"
        return Verdict.HEALTHY, None

    return interpret


def _ordered(block: Interpret) -> list[tuple[Verdict, Condition]]:
    pairs = [(Verdict.CRITICAL, block.critical), (Verdict.WARNING, block.warning), (Verdict.HEALTHY, block.healthy)]
    return [(verdict, condition) for verdict, condition in pairs if condition is not None]


def _handles_no_data(block: Interpret | None) -> bool:
    # An explicit `no_data:` verdict is applied directly; expressions that read `no_data` decide themselves.
    if block is None or block.no_data is not None:
        return False
    return any("no_data" in condition.variables() for _, condition in _ordered(block))


def _no_data_verdict(block: Interpret | None) -> Verdict:
    return Verdict(block.no_data) if block is not None and block.no_data else Verdict.WARNING
