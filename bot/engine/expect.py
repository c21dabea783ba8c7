"""The expectation check of an action: did it succeed, and does its output say what the runbook expects?"""

from __future__ import annotations

import re

from hooks.base import ActionOutput


def check_expectation(output: ActionOutput, patterns: list[str], allow_failure: bool) -> tuple[bool, str]:
    """(passed, reason): the action succeeded (or failure is allowed) and every regex pattern matches its output."""
    if not output.ok and not allow_failure:
        return False, "the action reported failure" + (f": {_last_line(output.output)}" if output.output else "")
    for pattern in patterns:
        try:
            compiled = re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            # A pattern that cannot be compiled fails closed rather than passing vacuously.
            return False, f"invalid expectation pattern {pattern!r}: {exc}"
        if compiled.search(output.output) is None:
            return False, f"output does not match {pattern!r}"
    if not output.ok:
        return True, "the action failed, which this step allows" + (
            f"; all {len(patterns)} patterns matched" if patterns else ""
        )
    return True, f"all {len(patterns)} patterns matched" if patterns else "no output pattern declared"


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:200] if lines else ""
