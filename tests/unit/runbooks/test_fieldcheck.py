"""References checked against the type of the hook field they fill, before any hook runs."""

from __future__ import annotations

import pytest

from bot.alerts import Alert
from bot.errors import RunbookError
from bot.runbooks.catalog import load_catalog
from bot.runbooks.fieldcheck import check_references, resolve_checked
from bot.runbooks.refs import RefContext
from bot.runbooks.simulate import simulate
from hooks.urlguard import HostPolicy

from .conftest import RUNBOOKS


def ctx(hosts: tuple[str, ...] = (), **labels: str) -> RefContext:
    alert = Alert(source="t", name="A", group_key="g", fingerprint="f", title="A", service="pay", labels=labels)
    return RefContext(alert, {"id": "INC-7"}, hosts=HostPolicy(hosts))


def test_sql_text_never_takes_alert_data_even_if_lint_was_bypassed() -> None:
    config = {"database": "orders", "query": "SELECT count(*) FROM t WHERE host = '${alert.labels.host}'"}
    with pytest.raises(RunbookError, match=r"alert label 'host'.*never spliced into code"):
        check_references("database_query", config, ctx(host="db1"))
    # The DSN key is a lookup in DATABASE_DSNS, not code: a reference there is fine.
    assert resolve_checked("database_query", {"database": "${alert.labels.db}", "query": "SELECT 1"}, ctx(db="x"))


def test_a_label_holding_reference_syntax_stays_data() -> None:
    config = {"check": "pods", "namespace": "${alert.labels.ns}", "deployment": "orders"}
    with pytest.raises(RunbookError, match=r"alert label 'ns' = '\$\{alert\.labels\.other\}'.*DNS-1123"):
        check_references("kubernetes", config, ctx(ns="${alert.labels.other}", other="shop"))


def test_an_embedded_host_is_checked_as_a_whole_url() -> None:
    config = {"urls": ["https://${alert.labels.host}/health"]}
    with pytest.raises(RunbookError, match=r"alert label 'host'.*127\.0\.0\.1:6379 is not in HTTP_ALLOWED_HOSTS"):
        check_references("http_check", config, ctx(("shop.example.com",), host="127.0.0.1:6379"))
    resolved = resolve_checked("http_check", config, ctx(("shop.example.com",), host="shop.example.com"))
    assert resolved["urls"] == ["https://shop.example.com/health"]


def test_static_values_and_untyped_fields_are_left_to_the_config_model() -> None:
    assert resolve_checked("http_check", {"urls": ["http://127.0.0.1:9/"]}, ctx()) == {"urls": ["http://127.0.0.1:9/"]}
    argv = {"argv": ["echo", "--incident", "${incident.id}", "${alert.service}"]}
    assert resolve_checked("shell_command", argv, ctx())["argv"] == ["echo", "--incident", "INC-7", "pay"]
    assert resolve_checked("no_such_hook", {"x": "${alert.labels.a}"}, ctx(a="-v")) == {"x": "-v"}


def test_the_message_names_every_reference_of_a_refused_value() -> None:
    config = {"check": "rollout", "namespace": "shop", "deployment": "${alert.labels.app}.${alert.labels.tier}"}
    with pytest.raises(RunbookError) as caught:
        check_references("kubernetes", config, ctx(app="api", tier="Web"))
    assert "alert label 'app', alert label 'tier' = 'api.Web'" in str(caught.value)
    assert caught.value.fields == ["alert.labels.app", "alert.labels.tier"]


def test_simulation_applies_the_allow_list_it_is_given() -> None:
    demo = load_catalog(RUNBOOKS).get_or_raise("demo-checkout-latency")
    alert = Alert(
        source="t", name="CheckoutLatencyHigh", group_key="g", fingerprint="f", title="slow", service="checkout",
        annotations={"storefront_url": "http://127.0.0.1:9/"},
    )  # fmt: skip
    refused = simulate(load_catalog(RUNBOOKS), alert, runbook=demo)
    assert "HTTP_ALLOWED_HOSTS is empty" in (refused.results["storefront"].error or "")
    allowed = simulate(load_catalog(RUNBOOKS), alert, runbook=demo, http_allowed_hosts=("127.0.0.1:9",))
    assert "storefront" not in allowed.results and "storefront" in allowed.unrecorded
