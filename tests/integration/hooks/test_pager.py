"""page against fake PagerDuty Events v2 and Opsgenie alert APIs."""

from __future__ import annotations

import pytest

from bot.errors import HookError, UpstreamError
from hooks.pager import Page, PageConfig
from tests.conftest import Serve
from tests.integration.hooks.conftest import make_ctx
from tests.integration.hooks.fakes import Behaviour, opsgenie_app, pagerduty_app

ROUTING_KEY = "R0UT1NGKEY0000000000000000000000"
GENIE_KEY = "genie-key-1234"


async def test_pagerduty_trigger_then_declared_rollback_resolves(serve: Serve) -> None:
    behaviour = Behaviour()
    url = await serve(pagerduty_app(ROUTING_KEY, behaviour))
    ctx = make_ctx(pagerduty_events_url=f"{url}/v2/enqueue", pagerduty_routing_key=ROUTING_KEY)
    hook, config = Page(), PageConfig(provider="pagerduty", summary="orders API down", severity="error")
    out = await hook.execute(config, ctx)
    assert out.ok and "Event processed" in out.output
    event = behaviour.requests[0]["json"]
    assert event["dedup_key"] == "runbook-bot/INC-7"
    assert event["payload"]["severity"] == "error" and event["payload"]["summary"] == "orders API down"
    undo = hook.rollback(config, ctx, out)
    assert undo is not None and undo.action == "page"
    resolved = await hook.execute(PageConfig.model_validate(undo.config), ctx)
    assert resolved.ok
    assert behaviour.requests[1]["json"]["event_action"] == "resolve"
    assert behaviour.requests[1]["json"]["dedup_key"] == "runbook-bot/INC-7"


async def test_pagerduty_rejection_and_rate_limit(serve: Serve) -> None:
    url = await serve(pagerduty_app("another-key-000000000000000000000", Behaviour()))
    ctx = make_ctx(pagerduty_events_url=f"{url}/v2/enqueue", pagerduty_routing_key=ROUTING_KEY)
    with pytest.raises(UpstreamError, match=r"HTTP 400.*Invalid routing key"):
        await Page().execute(PageConfig(provider="pagerduty", summary="x"), ctx)
    limited = await serve(pagerduty_app(ROUTING_KEY, Behaviour(fail_status=429)))
    ctx = make_ctx(pagerduty_events_url=f"{limited}/v2/enqueue", pagerduty_routing_key=ROUTING_KEY)
    with pytest.raises(UpstreamError, match="rate limited"):
        await Page().execute(PageConfig(provider="pagerduty", summary="x"), ctx)


async def test_pagerduty_needs_routing_key() -> None:
    with pytest.raises(HookError, match="PAGERDUTY_ROUTING_KEY"):
        await Page().execute(PageConfig(provider="pagerduty", summary="x"), make_ctx())


async def test_opsgenie_create_and_close_by_alias(serve: Serve) -> None:
    behaviour = Behaviour()
    url = await serve(opsgenie_app(GENIE_KEY, behaviour))
    ctx = make_ctx(opsgenie_api_url=f"{url}/v2/alerts", opsgenie_api_key=GENIE_KEY)
    hook = Page()
    config = PageConfig(provider="opsgenie", summary="x" * 200, severity="warning", dedup_key="orders/db")
    out = await hook.execute(config, ctx)
    assert out.ok and "Request will be processed" in out.output
    alert = behaviour.requests[0]["json"]
    assert alert["priority"] == "P3" and alert["alias"] == "orders/db" and len(alert["message"]) == 130
    undo = hook.rollback(config, ctx, out)
    assert undo is not None
    await hook.execute(PageConfig.model_validate(undo.config), ctx)
    assert behaviour.requests[1]["raw_path"] == "/v2/alerts/orders%2Fdb/close"
    assert behaviour.requests[1]["query"] == {"identifierType": "alias"}


async def test_opsgenie_bad_key(serve: Serve) -> None:
    url = await serve(opsgenie_app(GENIE_KEY, Behaviour()))
    ctx = make_ctx(opsgenie_api_url=f"{url}/v2/alerts", opsgenie_api_key="wrong-key")
    with pytest.raises(UpstreamError, match=r"HTTP 401 .*; check the credentials"):
        await Page().execute(PageConfig(provider="opsgenie", summary="x"), ctx)


async def test_dry_run_sends_nothing(serve: Serve) -> None:
    behaviour = Behaviour()
    url = await serve(pagerduty_app(ROUTING_KEY, behaviour))
    ctx = make_ctx(pagerduty_events_url=f"{url}/v2/enqueue", pagerduty_routing_key=ROUTING_KEY)
    ctx.dry_run = True
    out = await Page().execute(PageConfig(provider="pagerduty", summary="db down"), ctx)
    assert out.ok and out.output.startswith("dry run: Page on-call via PagerDuty")
    assert behaviour.requests == []


async def test_page_details_reach_both_pagers_with_the_incident_alias(serve: Serve) -> None:
    pd, genie = Behaviour(), Behaviour()
    pd_url = await serve(pagerduty_app(ROUTING_KEY, pd))
    genie_url = await serve(opsgenie_app(GENIE_KEY, genie))
    ctx = make_ctx(
        pagerduty_events_url=f"{pd_url}/v2/enqueue",
        pagerduty_routing_key=ROUTING_KEY,
        opsgenie_api_url=f"{genie_url}/v2/alerts",
        opsgenie_api_key=GENIE_KEY,
    )
    details = {"level": "2", "page": "ab12cd34-001"}
    for provider in ("pagerduty", "opsgenie"):
        config = PageConfig(provider=provider, summary="INC-7 down", dedup_key="INC-7", details=details)
        assert (await Page().execute(config, ctx)).ok
    event = pd.requests[0]["json"]
    assert event["dedup_key"] == "INC-7" and event["payload"]["custom_details"]["level"] == "2"
    assert event["payload"]["custom_details"]["incident"] == "INC-7"
    alert = genie.requests[0]["json"]
    assert alert["alias"] == "INC-7" and alert["details"]["page"] == "ab12cd34-001"
