"""kubernetes: pod readiness, rollout history and recent Warning events through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from bot.engine.types import HookOutput
from hooks.base import BaseDiagnostic, HookConfig, HookContext
from hooks.guards import KubeName, KubeNamespace
from hooks.kubeclient import KubeClient, deployment_path, label_selector, namespaced_path, resolve_credentials
from hooks.registry import register

REVISION = "deployment.kubernetes.io/revision"
MAX_EVENTS = 20


class KubernetesConfig(HookConfig):
    """Config of the kubernetes diagnostic."""

    check: Literal["pods", "rollout", "events"] = Field(description="what to look at")
    namespace: KubeNamespace = Field(min_length=1, description="Kubernetes namespace")
    deployment: KubeName | None = Field(default=None, description="Deployment name (needed for rollout)")
    selector: str | None = Field(default=None, description="pod label selector; default: the deployment's")
    since_minutes: int = Field(default=60, ge=1, description="events: how far back to count")
    timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout")

    @model_validator(mode="after")
    def _needs_target(self) -> Self:
        if self.check == "rollout" and not self.deployment:
            raise ValueError("check 'rollout' needs a deployment")
        if self.check == "pods" and not (self.deployment or self.selector):
            raise ValueError("check 'pods' needs a deployment or a selector")
        return self


def revision_of(obj: dict[str, Any]) -> int:
    """The rollout revision an object carries in its annotations (0 when none)."""
    return int(obj.get("metadata", {}).get("annotations", {}).get(REVISION, 0) or 0)


def parse_time(value: str | None) -> dt.datetime | None:
    """A Kubernetes timestamp as an aware datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


async def owned_replica_sets(client: KubeClient, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """The ReplicaSets a Deployment owns, oldest revision first."""
    meta = deployment["metadata"]
    selector = label_selector(deployment["spec"]["selector"].get("matchLabels", {}))
    found = await client.get(namespaced_path("/apis/apps/v1", meta["namespace"], "replicasets"), labelSelector=selector)

    def owned(rs: dict[str, Any]) -> bool:
        owners = rs.get("metadata", {}).get("ownerReferences") or []
        return any(o.get("kind") == "Deployment" and o.get("uid") == meta.get("uid") for o in owners)

    return sorted((rs for rs in found.get("items", []) if owned(rs)), key=revision_of)


def pod_summary(pods: list[dict[str, Any]]) -> dict[str, Any]:
    """Ready, total, restarts, OOM kills and the reasons of pods that are not ready."""
    ready = restarts = oom = 0
    not_ready: list[str] = []
    for pod in pods:
        status = pod.get("status", {})
        if status.get("phase") == "Succeeded":
            continue
        conditions = status.get("conditions") or []
        is_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        ready += is_ready
        reasons = []
        for cs in status.get("containerStatuses") or []:
            restarts += int(cs.get("restartCount", 0))
            terminated = [cs.get("lastState", {}).get("terminated") or {}, cs.get("state", {}).get("terminated") or {}]
            oom += any(t.get("reason") == "OOMKilled" for t in terminated)
            waiting = (cs.get("state", {}).get("waiting") or {}).get("reason")
            reasons += [waiting] if waiting else []
        if not is_ready:
            not_ready.append(f"{pod['metadata']['name']} ({', '.join(reasons) or status.get('phase', '?')})")
    total = sum(1 for p in pods if p.get("status", {}).get("phase") != "Succeeded")
    return {"ready": ready, "total": total, "restarts": restarts, "oom_killed": oom, "not_ready": not_ready}


async def check_pods(client: KubeClient, config: KubernetesConfig) -> HookOutput:
    """Ready ratio of the selected pods."""
    selector = config.selector
    if not selector:
        assert config.deployment is not None  # the config validator guarantees one of the two
        deployment = await client.get(deployment_path(config.namespace, config.deployment))
        selector = label_selector(deployment["spec"]["selector"].get("matchLabels", {}))
    pods = (await client.get(namespaced_path("/api/v1", config.namespace, "pods"), labelSelector=selector)).get(
        "items", []
    )
    summary = pod_summary(pods)
    ratio = summary["ready"] / summary["total"] if summary["total"] else 0.0
    evidence = (
        f"{summary['ready']}/{summary['total']} pods ready in {config.namespace} ({selector}), "
        f"{summary['restarts']} restarts, {summary['oom_killed']} OOMKilled"
    )
    if summary["not_ready"]:
        evidence += "\nnot ready: " + "; ".join(summary["not_ready"][:10])
    return HookOutput(value=round(ratio, 4), evidence=evidence, data=summary, no_data=summary["total"] == 0)


async def check_rollout(client: KubeClient, config: KubernetesConfig) -> HookOutput:
    """Current revision, when it rolled out and the revision history."""
    assert config.deployment is not None
    deployment = await client.get(deployment_path(config.namespace, config.deployment))
    revision = revision_of(deployment)
    history = []
    for rs in await owned_replica_sets(client, deployment):
        containers = rs["spec"]["template"]["spec"].get("containers", [])
        created = rs["metadata"].get("creationTimestamp")
        history.append(
            {"revision": revision_of(rs), "created": created, "images": [c.get("image") for c in containers]}
        )
    current = next((h for h in history if h["revision"] == revision), None)
    deployed_at = parse_time(current["created"]) if current else None
    minutes = round((dt.datetime.now(dt.UTC) - deployed_at).total_seconds() / 60, 1) if deployed_at else None
    status = deployment.get("status", {})
    desired = deployment["spec"].get("replicas", 1)
    complete = status.get("updatedReplicas", 0) == desired and status.get("availableReplicas", 0) == desired
    data = {"revision": revision, "minutes_since_deploy": minutes, "history": history, "complete": complete}
    images = ", ".join(current["images"]) if current else "?"
    evidence = f"{config.namespace}/{config.deployment} at revision {revision} ({images}), deployed {minutes} min ago"
    evidence += "" if complete else " - rollout not complete"
    return HookOutput(value=minutes, evidence=evidence, data=data, no_data=minutes is None)


def _event_time(event: dict[str, Any]) -> dt.datetime | None:
    stamp = event.get("lastTimestamp") or event.get("eventTime") or event.get("metadata", {}).get("creationTimestamp")
    return parse_time(stamp)


async def check_events(client: KubeClient, config: KubernetesConfig) -> HookOutput:
    """Warning events of the last minutes, optionally only those about one deployment's objects."""
    found = await client.get(namespaced_path("/api/v1", config.namespace, "events"), fieldSelector="type=Warning")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=config.since_minutes)
    events = []
    for event in found.get("items", []):
        when = _event_time(event)
        subject = event.get("involvedObject", {}).get("name", "")
        if when is None or when < since:
            continue
        if config.deployment and subject != config.deployment and not subject.startswith(config.deployment + "-"):
            continue
        kind = event.get("involvedObject", {}).get("kind", "")
        row = {"reason": event.get("reason"), "message": event.get("message", ""), "object": f"{kind}/{subject}"}
        events.append({**row, "count": event.get("count", 1), "last_seen": when.isoformat()})
    events.sort(key=lambda e: e["last_seen"], reverse=True)
    head = f"{len(events)} Warning events in {config.namespace} in the last {config.since_minutes} min"
    lines = [head] + [f"{e['last_seen']} {e['object']} {e['reason']}: {e['message']}" for e in events[:5]]
    return HookOutput(value=len(events), evidence="\n".join(lines), data={"events": events[:MAX_EVENTS]})


@register
class Kubernetes(BaseDiagnostic):
    """Look at a Deployment's pods, rollout or Warning events."""

    name: ClassVar[str] = "kubernetes"
    help: ClassVar[str] = "Kubernetes: pod readiness ratio, minutes since the last rollout, or Warning event count"
    config_model: ClassVar[type[KubernetesConfig]] = KubernetesConfig

    async def run(self, config: KubernetesConfig, ctx: HookContext) -> HookOutput:
        """Run the configured check against the API server."""
        checks = {"pods": check_pods, "rollout": check_rollout, "events": check_events}
        async with KubeClient(resolve_credentials(ctx.settings), config.timeout_s) as client:
            return await checks[config.check](client, config)
