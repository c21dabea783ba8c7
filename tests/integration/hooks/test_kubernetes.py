"""The kubernetes diagnostic and the restart_service, scale and rollback actions against a fake API server."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.errors import HookError, UpstreamError
from hooks.base import HookContext
from hooks.kubeactions import DeploymentConfig, RestartService, Rollback, RollbackConfig, Scale, ScaleConfig
from hooks.kubernetes import Kubernetes, KubernetesConfig
from tests.conftest import Serve
from tests.integration.hooks.conftest import make_ctx
from tests.integration.hooks.fake_kube import KubeState, event, kubernetes_app, pod

NS = "shop"


@pytest.fixture
async def kube(serve: Serve) -> tuple[KubeState, HookContext]:
    state = KubeState()
    state.add_deployment(NS, "orders", "orders:1.0", replicas=3, minutes_ago=45)
    state.pods += [
        pod(NS, "orders-a", "orders", ready=True, restarts=1),
        pod(NS, "orders-b", "orders", ready=True),
        pod(NS, "orders-c", "orders", ready=False, restarts=4, oom=True, waiting="CrashLoopBackOff"),
        pod(NS, "payments-a", "payments", ready=False),
    ]
    state.events += [
        event(NS, "orders-c", "BackOff", minutes_ago=2),
        event(NS, "orders", "FailedCreate", minutes_ago=10, kind="Deployment"),
        event(NS, "payments-a", "Unhealthy", minutes_ago=5),
        event(NS, "orders-a", "Unhealthy", minutes_ago=300),
        event(NS, "orders-b", "Pulled", minutes_ago=1, type_="Normal"),
    ]
    url = await serve(kubernetes_app(state))
    return state, make_ctx(kubernetes_api_url=url, kubernetes_token=state.token)


async def test_pods_ready_ratio(kube: tuple[KubeState, HookContext]) -> None:
    _, ctx = kube
    out = await Kubernetes().run(KubernetesConfig(check="pods", namespace=NS, deployment="orders"), ctx)
    assert out.value == pytest.approx(2 / 3, abs=1e-3)
    assert (out.data["ready"], out.data["total"], out.data["restarts"], out.data["oom_killed"]) == (2, 3, 5, 1)
    assert "orders-c (CrashLoopBackOff)" in out.evidence


async def test_pods_by_selector_and_empty_is_no_data(kube: tuple[KubeState, HookContext]) -> None:
    _, ctx = kube
    out = await Kubernetes().run(KubernetesConfig(check="pods", namespace=NS, selector="app=payments"), ctx)
    assert out.value == 0 and out.data["total"] == 1
    empty = await Kubernetes().run(KubernetesConfig(check="pods", namespace=NS, selector="app=nothing"), ctx)
    assert empty.no_data


async def test_rollout_minutes_since_deploy(kube: tuple[KubeState, HookContext]) -> None:
    _, ctx = kube
    out = await Kubernetes().run(KubernetesConfig(check="rollout", namespace=NS, deployment="orders"), ctx)
    assert out.data["revision"] == 1
    assert 44 <= out.value <= 46
    assert out.data["history"][0]["images"] == ["orders:1.0"]


async def test_warning_events_of_a_deployment(kube: tuple[KubeState, HookContext]) -> None:
    _, ctx = kube
    out = await Kubernetes().run(KubernetesConfig(check="events", namespace=NS, deployment="orders"), ctx)
    assert out.value == 2
    assert [e["reason"] for e in out.data["events"]] == ["BackOff", "FailedCreate"]
    every = await Kubernetes().run(KubernetesConfig(check="events", namespace=NS, since_minutes=600), ctx)
    assert every.value == 4


async def test_restart_patches_the_template_annotation(kube: tuple[KubeState, HookContext]) -> None:
    state, ctx = kube
    config = DeploymentConfig(namespace=NS, deployment="orders")
    out = await RestartService().execute(config, ctx)
    assert out.ok and out.data["previous_revision"] == 1
    _name, content_type, _body = state.patches[-1]
    assert content_type == "application/strategic-merge-patch+json"
    annotations = state.deployments[(NS, "orders")]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kubectl.kubernetes.io/restartedAt"] == out.data["restarted_at"]
    assert state.deployments[(NS, "orders")]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert RestartService().rollback(config, ctx, out) is None


async def test_scale_and_its_rollback(kube: tuple[KubeState, HookContext]) -> None:
    state, ctx = kube
    config = ScaleConfig(namespace=NS, deployment="orders", replicas=6, max_replicas=8)
    out = await Scale().execute(config, ctx)
    assert out.ok and state.deployments[(NS, "orders")]["spec"]["replicas"] == 6
    undo = Scale().rollback(config, ctx, out)
    assert undo is not None and undo.config["replicas"] == 3
    await Scale().execute(ScaleConfig.model_validate(undo.config), ctx)
    assert state.deployments[(NS, "orders")]["spec"]["replicas"] == 3


async def test_rollback_returns_to_previous_template_and_back(kube: tuple[KubeState, HookContext]) -> None:
    state, ctx = kube
    deployment = state.deployments[(NS, "orders")]
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "orders:2.0-broken"
    state.reconcile(NS, "orders")
    config = RollbackConfig(namespace=NS, deployment="orders")
    out = await Rollback().execute(config, ctx)
    assert out.data == {"previous_revision": 2, "target_revision": 1}
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "orders:1.0"
    assert "pod-template-hash" not in deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    undo = Rollback().rollback(config, ctx, out)
    assert undo is not None and undo.config["to_revision"] == 2
    again = await Rollback().execute(RollbackConfig.model_validate(undo.config), ctx)
    assert again.ok and deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "orders:2.0-broken"
    skipped = await Rollback().execute(RollbackConfig(namespace=NS, deployment="orders", to_revision=4), ctx)
    assert skipped.output.startswith("skipped rollback")


async def test_rollback_without_history_fails(kube: tuple[KubeState, HookContext]) -> None:
    _, ctx = kube
    with pytest.raises(HookError, match="no previous revision"):
        await Rollback().execute(RollbackConfig(namespace=NS, deployment="orders"), ctx)
    with pytest.raises(HookError, match="revision 9 not found"):
        await Rollback().execute(RollbackConfig(namespace=NS, deployment="orders", to_revision=9), ctx)


async def test_bad_token_and_missing_deployment(kube: tuple[KubeState, HookContext]) -> None:
    _, ctx = kube
    bad = make_ctx(kubernetes_api_url=ctx.settings.kubernetes_api_url, kubernetes_token="wrong")
    with pytest.raises(UpstreamError, match=r"HTTP 401 .*; check the credentials"):
        await Kubernetes().run(KubernetesConfig(check="rollout", namespace=NS, deployment="orders"), bad)
    with pytest.raises(UpstreamError, match="HTTP 404"):
        await RestartService().execute(DeploymentConfig(namespace=NS, deployment="ghost"), ctx)


async def test_kubeconfig_current_context(kube: tuple[KubeState, HookContext], tmp_path: Path) -> None:
    state, ctx = kube
    token_file = tmp_path / "token"
    token_file.write_text(state.token + "\n")
    kubeconfig = {
        "current-context": "shop",
        "contexts": [{"name": "shop", "context": {"cluster": "local", "user": "bot"}}],
        "clusters": [{"name": "local", "cluster": {"server": ctx.settings.kubernetes_api_url}}],
        "users": [{"name": "bot", "user": {"tokenFile": "token"}}],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig))
    out = await Kubernetes().run(
        KubernetesConfig(check="rollout", namespace=NS, deployment="orders"), make_ctx(kubeconfig=path)
    )
    assert out.data["revision"] == 1
