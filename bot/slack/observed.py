"""What a diagnostic actually observed, in a few words: HTTP status and latency, exit code and output, or its value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.engine.types import DiagnosticResult
from bot.slack.escape import escape_text, truncate

SHOWN_CHECKS = 3
OUTPUT_TEXT = 80


def _one_check(check: dict[str, Any]) -> str:
    answer = f"HTTP {check['status']}" if check.get("status") is not None else (check.get("error") or "no answer")
    slow = " (slow)" if check.get("slow") else ""
    return f"{answer} in {check.get('latency_ms', 0):g} ms{slow}"


def _http(checks: list[dict[str, Any]]) -> str:
    if len(checks) == 1:
        return escape_text(truncate(_one_check(checks[0]), OUTPUT_TEXT))
    failing = sum(1 for c in checks if not c.get("ok"))
    slowest = max(float(c.get("latency_ms") or 0) for c in checks)
    return f"{len(checks) - failing}/{len(checks)} URLs ok · slowest {slowest:g} ms"


def _shell(exit_code: Any, stdout: str) -> str:
    first = next((line.strip() for line in stdout.splitlines() if line.strip()), "")
    said = f" · `{escape_text(truncate(first, OUTPUT_TEXT))}`" if first else ""
    return f"exit {exit_code}{said}"


def observed(result: DiagnosticResult, format_value: Callable[[Any], str]) -> str | None:
    """The observation for an evidence line, or None when the step produced no value to show."""
    checks = result.data.get("checks")
    if isinstance(checks, list) and checks and all(isinstance(c, dict) and "latency_ms" in c for c in checks):
        return _http(checks)
    if "stdout" in result.data and isinstance(result.value, int):
        return _shell(result.value, str(result.data.get("stdout") or ""))
    if result.value is None:
        return None
    return f"value `{format_value(result.value)}`"
