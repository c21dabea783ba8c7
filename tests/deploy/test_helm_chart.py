"""The Helm chart lints, renders valid Kubernetes objects for each supported setup, and refuses broken values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from bot.settings import Settings
from tests.deploy.helmchart import CI_VALUES, RenderError, bot_env, lint, one, render, values_file

# The oldest Kubernetes the chart declares (Chart.yaml kubeVersion) and the newest the schemas know.
KUBE_VERSIONS = ["1.25.0", kubernetes_validate.latest_version()]
SETUPS = [None, *CI_VALUES]
SETUP_IDS = ["defaults", *(p.stem for p in CI_VALUES)]

# Settings the chart sets ahead of the code that reads them (issue 14); each is named with its reason.
UPCOMING_ENV = {
    "SLACK_MODE": "HTTP mode (Events API on POST /slack/events) is being added",
    "REDIS_SENTINELS": "Sentinel support is being added",
    "REDIS_SENTINEL_MASTER": "Sentinel support is being added",
    "REDIS_CLUSTER": "Redis Cluster support is being added",
    "RUNBOOK_WATCH_S": "the runbook folder watcher is being added",
    "REDIS_WAIT_REPLICAS": "Sentinel support (WAIT before a webhook's 202) is being added",
    "TIMER_SHARDS": "timers sharded by hash tag for Redis Cluster are being added",
}


def test_every_setup_has_a_values_file() -> None:
    assert {p.stem for p in CI_VALUES} >= {"sentinel-values", "cluster-values", "http-values"}


@pytest.mark.parametrize("values_path", SETUPS, ids=SETUP_IDS)
def test_lint_is_clean(values_path: Path | None) -> None:
    report = lint(values_file(values_path))
    assert report["errors"] == []
    # Severity 1 is informational (e.g. "icon is recommended"); warnings fail under --strict.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_path", SETUPS, ids=SETUP_IDS)
def test_every_object_validates_against_the_kubernetes_schemas(values_path: Path | None, kube_version: str) -> None:
    objects = render(values_file(values_path))
    assert {"Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget"} <= {o["kind"] for o in objects}
    for obj in objects:
        if obj["kind"] == "ServiceMonitor":
            continue  # a CRD, not in the Kubernetes schemas: checked by test_service_monitor_scrapes_the_service
        # strict: an unknown field (a typo in a template) is an error, not silently dropped by the API server.
        kubernetes_validate.validate(obj, kube_version, strict=True)


def test_defaults_run_two_hardened_replicas_with_probes() -> None:
    objects = render()
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    bot = pod["containers"][0]
    assert bot["securityContext"]["readOnlyRootFilesystem"] is True
    assert bot["securityContext"]["allowPrivilegeEscalation"] is False
    assert bot["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert bot["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert bot["envFrom"] == [{"secretRef": {"name": "runbook-bot"}}]
    # A read-only root needs every path the bot writes to mounted: its data folder and /tmp.
    env = bot_env(objects)
    assert "TIMER_SHARDS" not in env and "REDIS_WAIT_REPLICAS" not in env  # the bot's own defaults
    mounts = {m["mountPath"] for m in bot["volumeMounts"]}
    assert {env["RUNBOOK_BOT_DATA_DIR"], "/tmp", env["RUNBOOKS_PATH"]} <= mounts
    assert env["SLACK_MODE"] == "socket"
    assert "Ingress" not in {o["kind"] for o in objects}


@pytest.mark.parametrize("values_path", SETUPS, ids=SETUP_IDS)
def test_selectors_match_the_pods(values_path: Path | None) -> None:
    objects = render(values_file(values_path))
    labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    assert selects(one(objects, "Service")["spec"]["selector"])
    assert selects(one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    assert selects(one(objects, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"])


@pytest.mark.parametrize("values_path", SETUPS, ids=SETUP_IDS)
def test_every_environment_variable_is_a_setting(values_path: Path | None) -> None:
    known = {name.upper() for name in Settings.model_fields} | set(UPCOMING_ENV)
    assert set(bot_env(render(values_file(values_path)))) - known == set()


def test_sentinel_values_set_sentinels_and_git_sync() -> None:
    objects = render(values_file(ci_values("sentinel")))
    env = bot_env(objects)
    assert env["REDIS_SENTINELS"].split(",") == [
        "redis-sentinel-0.redis-sentinel:26379",
        "redis-sentinel-1.redis-sentinel:26379",
        "redis-sentinel-2.redis-sentinel:26379",
    ]
    assert env["REDIS_SENTINEL_MASTER"] == "runbook"
    assert env["REDIS_WAIT_REPLICAS"] == "1"
    assert "REDIS_URL" not in env
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "git-sync")
    assert "--repo=https://git.example.com/sre/runbooks.git" in sidecar["args"]
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
    # The bot reads the checkout through git-sync's symlink, so a sync swaps every file at once.
    assert env["RUNBOOKS_PATH"] == "/runbooks/current/runbooks"
    assert "ConfigMap" not in {o["kind"] for o in objects}


def test_cluster_values_set_a_cluster_url_and_scale_the_budget() -> None:
    objects = render(values_file(ci_values("cluster")))
    env = bot_env(objects)
    assert env["REDIS_URL"] == "redis+cluster://redis-cluster:6379"
    assert env["REDIS_CLUSTER"] == "true"
    assert env["TIMER_SHARDS"] == "16"
    assert one(objects, "Deployment")["spec"]["replicas"] == 3
    assert one(objects, "PodDisruptionBudget")["spec"]["minAvailable"] == 2
    volumes = one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert next(v for v in volumes if v["name"] == "runbooks")["configMap"] == {"name": "team-runbooks"}


def test_http_values_expose_slack_events_through_an_ingress() -> None:
    objects = render(values_file(ci_values("http")))
    assert bot_env(objects)["SLACK_MODE"] == "http"
    service = one(objects, "Service")
    ingress = one(objects, "Ingress")
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    assert [p["path"] for p in paths] == ["/slack/events", "/alerts"]
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for path in paths:
        assert path["backend"]["service"]["name"] == service["metadata"]["name"]
        assert path["backend"]["service"]["port"]["name"] in port_names
    # Slack posts from the internet: the policy must not limit the HTTP port to in-namespace peers.
    http_rule = one(objects, "NetworkPolicy")["spec"]["ingress"][0]
    assert "from" not in http_rule
    runbooks = one(objects, "ConfigMap")
    assert runbooks["data"]["disk-filling.yaml"].startswith("name: disk-filling\n")


def test_socket_mode_admits_the_namespace_and_the_monitoring_one() -> None:
    rule = one(render(), "NetworkPolicy")["spec"]["ingress"][0]
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    assert rule["from"] == [{"podSelector": {}}, monitoring]
    peers = [{"podSelector": {"matchLabels": {"app": "alertmanager"}}}]
    rule = one(render({"networkPolicy": {"ingressFrom": peers}}), "NetworkPolicy")["spec"]["ingress"][0]
    assert rule["from"] == peers


def test_service_monitor_follows_the_prometheus_operator_api() -> None:
    assert "ServiceMonitor" not in {o["kind"] for o in render()}
    objects = render(api_versions=["monitoring.coreos.com/v1"])
    monitor = one(objects, "ServiceMonitor")
    assert "ServiceMonitor" not in {
        o["kind"] for o in render({"metrics": {"serviceMonitor": {"enabled": False}}}, ["monitoring.coreos.com/v1"])
    }
    service = one(objects, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        # values.schema.json
        ({"slack": {"mode": "websocket"}}, "at '/slack/mode': value must be one of 'socket', 'http'"),
        ({"redis": {"mode": "replica"}}, "at '/redis/mode': value must be one of 'url', 'sentinel', 'cluster'"),
        ({"redis": {"mode": "cluster", "cluster": {"url": "redis://a:6379"}}}, "at '/redis/cluster/url'"),
        ({"redis": {"sentinel": {"sentinels": ["a:26379,b:26379"]}}}, "at '/redis/sentinel/sentinels/0'"),
        ({"existingSecret": ""}, "at '/existingSecret'"),
        ({"redis": {"timerShards": 0}}, "at '/redis/timerShards'"),
        # the templates' own checks, for what a schema cannot say
        ({"redis": {"fromSecret": False}}, "replicas cannot share a store"),
        ({"redis": {"mode": "sentinel", "fromSecret": False}}, "needs redis.sentinel.sentinels"),
        ({"redis": {"mode": "cluster", "fromSecret": False}}, "needs redis.cluster.url"),
        ({"runbooks": {"source": "gitSync"}}, "runbooks.gitSync.repo is required"),
    ],
)
def test_broken_values_are_refused_with_the_reason(values: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderError, match=re.escape(message)):
        render(values)


def test_lint_reports_values_the_schema_refuses() -> None:
    report = lint({"slack": {"mode": "websocket"}})
    assert any("value must be one of 'socket', 'http'" in error for error in report["errors"])


def test_one_replica_may_use_the_embedded_store() -> None:
    env = bot_env(render({"replicaCount": 1, "redis": {"fromSecret": False}}))
    assert "REDIS_URL" not in env
    assert "PodDisruptionBudget" not in {o["kind"] for o in render({"replicaCount": 1})}


def ci_values(name: str) -> Path:
    """The ci/ values file of one setup."""
    path = next(p for p in CI_VALUES if p.stem == f"{name}-values")
    return path
