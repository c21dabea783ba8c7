"""Evidence lines show what each check saw, not a `value 0` for everything; /oncall shows now and next."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.engine.types import DiagnosticResult, Verdict
from bot.escalation.loader import load_escalation
from bot.slack.blocks import evidence_line
from bot.slack.oncall import oncall_text

ROOT = Path(__file__).resolve().parents[3]


def check(url: str, status: int | None, latency: float, ok: bool, error: str | None = None) -> dict[str, object]:
    return {"url": url, "status": status, "latency_ms": latency, "ok": ok, "error": error, "slow": latency > 1000}


def test_http_check_shows_status_and_latency() -> None:
    one = DiagnosticResult(
        "s", "Storefront", Verdict.WARNING, 0, duration_ms=1270, data={"checks": [check("u", 200, 1265.0, True)]}
    )
    assert evidence_line(one) == ":large_yellow_circle: *Storefront* — warning · HTTP 200 in 1265 ms (slow) · 1.27s"
    down = check("v", None, 3000.0, False, "no answer within 3s")
    two = DiagnosticResult("s", "Both", Verdict.CRITICAL, 1, data={"checks": [check("u", 200, 12.0, True), down]})
    assert " · 1/2 URLs ok · slowest 3000 ms · " in evidence_line(two)


def test_shell_shows_exit_code_and_first_output_line_escaped() -> None:
    result = DiagnosticResult("l", "Load", Verdict.HEALTHY, 0, data={"stdout": "\n load <1> & ok\nmore", "stderr": ""})
    assert evidence_line(result) == ":large_green_circle: *Load* — healthy · exit 0 · `load &lt;1&gt; &amp; ok` · 0.00s"


def test_a_value_is_shown_as_is_and_no_value_is_not_invented() -> None:
    ratio = DiagnosticResult("p", "Pool", Verdict.CRITICAL, 0.98)
    assert evidence_line(ratio) == ":red_circle: *Pool* — critical · value `0.98` · 0.00s"
    failed = DiagnosticResult("p", "Pool", Verdict.ERROR, None, error="connection refused")
    assert evidence_line(failed).startswith(":warning: *Pool* — error · 0.00s")


def test_oncall_shows_now_and_next_with_hand_off_times() -> None:
    now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    text = oncall_text(load_escalation(ROOT / "runbooks" / "escalation"), None, now)
    assert (
        "• `payments-primary`: now <@U03CAROL> until Mon 30 Nov 08:00 UTC · next <@U04DAVE> from Mon 30 Nov 08:00 UTC"
        in text
    )
    sandbox = oncall_text(load_escalation(ROOT / "bot" / "sandbox" / "escalation"), "api", now)
    assert sandbox.splitlines()[1] == (
        "• `api-primary`: now <@U0ALICE001> · next <@U0ALICE001> again from Sat 28 Nov 00:00 UTC"
        " (nobody else in this rotation)"
    )
