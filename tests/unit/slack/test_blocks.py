"""Renderers produce blocks that pass slack-sdk's own validation and Slack's limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.engine.offer import OfferedStep
from bot.engine.types import DiagnosticResult, Verdict
from bot.incidents.models import Incident
from bot.slack import blocks as render


def assert_valid(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()


def incident(**kw: Any) -> Incident:
    base: dict[str, Any] = {"id": "INC-9", "number": 9, "title": "checkout <!channel> slow", "service": "checkout"}
    base.update(kw)
    return Incident.model_validate(base)


def test_header_is_valid_and_escapes_title() -> None:
    inc = incident(links={"dashboard": "https://grafana.example/d/1", "silence": "javascript:alert(1)"})
    out = render.incident_header(inc)
    assert_valid(out)
    # plain_text is shown literally by Slack; every mrkdwn text and the fallback text must be escaped.
    assert out[0]["text"]["type"] == "plain_text"
    mrkdwn_texts = [f["text"] for f in out[1]["fields"]] + [e["text"] for e in out[2]["elements"]]
    assert all("<!channel>" not in t for t in mrkdwn_texts)
    assert "<!channel>" not in render.header_text(inc)
    assert "<https://grafana.example/d/1|Dashboard>" in mrkdwn_texts[-1] and "javascript" not in str(out)


def test_evidence_packs_many_steps_within_limits() -> None:
    results = [
        DiagnosticResult(f"d{i}", f"step {i} " + "x" * 80, Verdict.CRITICAL if i == 3 else Verdict.HEALTHY, i * 1.5)
        for i in range(200)
    ]
    out = render.evidence(results, "payments")
    assert_valid(out)
    assert "Diagnostics: critical" in out[0]["text"]["text"]
    assert all(len(b["text"]["text"]) <= 3000 for b in out if b["type"] == "section")


def test_plan_lists_steps_and_guards() -> None:
    step = OfferedStep(
        id="restart",
        name="Restart pods",
        kind="automated",
        description="rolling restart",
        what_runs="kubectl rollout restart deployment/payments -n prod",
        reason="diagnostics.pods.status == 'critical'",
        guards=["approval by @sre", "four-eyes"],
        irreversible=True,
    )
    out = render.plan([step], "payments")
    assert_valid(out)
    assert out[1]["block_id"] == "step:restart"
    assert "irreversible" in out[1]["text"]["text"] and "four-eyes" in out[2]["elements"][0]["text"]


def test_empty_plan_says_so() -> None:
    out = render.plan([], "payments", notes=["condition error in decision d1"])
    assert_valid(out)
    assert "No remediation offered" in out[0]["text"]["text"]
