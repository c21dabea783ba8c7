"""Hostile label values meant for a Kubernetes path end as error results; the API server sees no request."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.types import Verdict
from bot.errors import InvalidInput
from tests.conftest import Serve
from tests.integration.hooks.alertdata import alert_with, incident_for, responder_for
from tests.integration.hooks.fake_kube import KubeState, kubernetes_app, pod

HOSTILE = [
    "kube-system/deployments/coredns?dryRun=x&y=",
    "../../../api/v1/namespaces/kube-system/secrets",
    "..",
    "%2F",
    "Shop",
    "a" * 254,
    "shop\n",
]
RUNBOOK = {
    "allowed_namespaces": ["*"],
    "diagnostics": [
        {
            "id": "pods",
            "name": "Pods",
            "type": "kubernetes",
            "config": {"check": "pods", "namespace": "${alert.labels.namespace}", "deployment": "${alert.labels.app}"},
        }
    ],
    "remediations": [
        {
            "id": "restart",
            "name": "Restart",
            "kind": "automated",
            "action": {
                "type": "restart_service",
                "config": {"namespace": "${alert.labels.namespace}", "deployment": "${alert.labels.app}"},
            },
        }
    ],
}


@pytest.fixture
async def kube(serve: Serve) -> tuple[KubeState, str]:
    state = KubeState()
    state.add_deployment("shop", "orders", "orders:1.0", replicas=1)
    state.add_deployment("kube-system", "coredns", "coredns:1.11", replicas=1)
    state.pods.append(pod("shop", "orders-a", "orders", ready=True))
    return state, await serve(kubernetes_app(state))


@pytest.mark.parametrize("label", ["namespace", "app"])
@pytest.mark.parametrize(
    "value",
    HOSTILE,
    ids=["path-query", "dot-dot-path", "dot-dot", "escaped-slash", "uppercase", "254-chars", "newline"],
)
async def test_hostile_label_is_an_error_diagnostic_and_no_request(
    kube: tuple[KubeState, str], tmp_path: Path, label: str, value: str
) -> None:
    state, url = kube
    responder = responder_for(tmp_path, RUNBOOK, kubernetes_api_url=url, kubernetes_token=state.token)
    labels = {"namespace": "shop", "app": "orders", label: value}
    alert = alert_with(labels)
    [result] = await responder.diagnose("alert-data", incident_for(alert), alert)
    assert result.status is Verdict.ERROR
    assert f"alert label {label!r}" in (result.error or "")
    assert "DNS-1123" in (result.error or "")
    with pytest.raises(InvalidInput, match=f"alert label {label!r}.*DNS-1123"):
        responder.prepare_action(responder.runbook("alert-data").remediations[0].action, incident_for(alert), alert)  # type: ignore[arg-type]
    assert state.requests == []
    assert state.patches == []


async def test_a_valid_label_reaches_the_api_server(kube: tuple[KubeState, str], tmp_path: Path) -> None:
    state, url = kube
    responder = responder_for(tmp_path, RUNBOOK, kubernetes_api_url=url, kubernetes_token=state.token)
    alert = alert_with({"namespace": "shop", "app": "orders"})
    [result] = await responder.diagnose("alert-data", incident_for(alert), alert)
    assert result.status is not Verdict.ERROR, result.error
    assert ("GET", "/apis/apps/v1/namespaces/shop/deployments/orders") in state.requests


async def test_a_system_namespace_needs_listing_by_name(kube: tuple[KubeState, str], tmp_path: Path) -> None:
    state, url = kube
    responder = responder_for(tmp_path, RUNBOOK, kubernetes_api_url=url, kubernetes_token=state.token)
    alert = alert_with({"namespace": "kube-system", "app": "coredns"})
    [result] = await responder.diagnose("alert-data", incident_for(alert), alert)
    assert result.status is Verdict.ERROR and "system namespace 'kube-system'" in (result.error or "")
    listed = responder_for(
        tmp_path,
        {**RUNBOOK, "allowed_namespaces": ["kube-system"]},
        kubernetes_api_url=url,
        kubernetes_token=state.token,
    )
    [allowed] = await listed.diagnose("alert-data", incident_for(alert), alert)
    assert allowed.status is not Verdict.ERROR, allowed.error
    assert state.requests and all("/kube-system/" in path for _, path in state.requests)


async def test_namespace_outside_allowed_namespaces_is_refused(kube: tuple[KubeState, str], tmp_path: Path) -> None:
    state, url = kube
    runbook = {**RUNBOOK, "allowed_namespaces": ["shop-*"]}
    responder = responder_for(tmp_path, runbook, kubernetes_api_url=url, kubernetes_token=state.token)
    alert = alert_with({"namespace": "shop", "app": "orders"})
    [result] = await responder.diagnose("alert-data", incident_for(alert), alert)
    assert result.status is Verdict.ERROR and "not in the runbook's allowed_namespaces (shop-*)" in (result.error or "")
    assert state.requests == []
