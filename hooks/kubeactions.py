"""Kubernetes actions: restart_service, scale and rollback, each the way kubectl does it."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, ClassVar, Self

from pydantic import Field, model_validator

from bot.errors import HookError
from hooks.base import ActionOutput, BaseAction, HookConfig, HookContext, RollbackSpec
from hooks.guards import KubeName, KubeNamespace
from hooks.kubeclient import JSON_PATCH, MERGE_PATCH, KubeClient, deployment_path, resolve_credentials
from hooks.kubernetes import owned_replica_sets, revision_of
from hooks.registry import register

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
# Deployment annotations `kubectl rollout undo` keeps rather than copying from the ReplicaSet.
ANNOTATIONS_TO_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


class DeploymentConfig(HookConfig):
    """A Deployment in a namespace."""

    namespace: KubeNamespace = Field(min_length=1, description="Kubernetes namespace")
    deployment: KubeName = Field(min_length=1, description="Deployment name")


class ScaleConfig(DeploymentConfig):
    """Config of scale."""

    replicas: int = Field(ge=0, description="desired replica count")
    max_replicas: int = Field(ge=0, description="ceiling; replicas above it are refused")

    @model_validator(mode="after")
    def _within_maximum(self) -> Self:
        if self.replicas > self.max_replicas:
            raise ValueError(f"replicas {self.replicas} exceeds max_replicas {self.max_replicas}")
        return self


class RollbackConfig(DeploymentConfig):
    """Config of rollback."""

    to_revision: int | None = Field(default=None, ge=1, description="revision to return to; default: the previous")


def _client(ctx: HookContext) -> KubeClient:
    return KubeClient(resolve_credentials(ctx.settings))


def _target(config: DeploymentConfig) -> str:
    return f"deployment {config.namespace}/{config.deployment}"


@register
class RestartService(BaseAction):
    """Rolling restart of a Deployment, as `kubectl rollout restart`."""

    name: ClassVar[str] = "restart_service"
    help: ClassVar[str] = "Kubernetes rollout restart of a Deployment (new pods, same spec)"
    config_model: ClassVar[type[DeploymentConfig]] = DeploymentConfig

    def describe(self, config: DeploymentConfig, ctx: HookContext) -> str:
        """The restart, in words."""
        return (
            f"Rolling restart of {_target(config)}: set pod template annotation {RESTARTED_AT} to the current time "
            f"so every pod is replaced (kubectl rollout restart). Not undoable; the spec is unchanged."
        )

    async def perform(self, config: DeploymentConfig, ctx: HookContext) -> ActionOutput:
        """Patch the restartedAt annotation, refusing a paused Deployment like kubectl."""
        path = deployment_path(config.namespace, config.deployment)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        async with _client(ctx) as client:
            deployment = await client.get(path)
            if deployment["spec"].get("paused"):
                raise HookError(f"{_target(config)} is paused; resume it before restarting")
            patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
            await client.patch(path, patch)
        data = {"restarted_at": now, "previous_revision": revision_of(deployment)}
        return ActionOutput(ok=True, output=f"restarted {_target(config)} at {now}", data=data)


@register
class Scale(BaseAction):
    """Set a Deployment's replicas, never above the declared maximum."""

    name: ClassVar[str] = "scale"
    help: ClassVar[str] = "Kubernetes scale of a Deployment to N replicas, capped by max_replicas"
    config_model: ClassVar[type[ScaleConfig]] = ScaleConfig

    def describe(self, config: ScaleConfig, ctx: HookContext) -> str:
        """The scale change, in words."""
        return (
            f"Scale {_target(config)} to {config.replicas} replicas (maximum allowed {config.max_replicas}); "
            f"undo scales back to the replica count found before."
        )

    async def perform(self, config: ScaleConfig, ctx: HookContext) -> ActionOutput:
        """Read the current count, then patch the scale subresource."""
        if config.replicas > config.max_replicas:
            raise HookError(f"refusing to scale to {config.replicas}: above max_replicas {config.max_replicas}")
        path = deployment_path(config.namespace, config.deployment) + "/scale"
        async with _client(ctx) as client:
            before = int((await client.get(path)).get("spec", {}).get("replicas", 0))
            after = await client.patch(path, {"spec": {"replicas": config.replicas}}, MERGE_PATCH)
        replicas = int(after.get("spec", {}).get("replicas", config.replicas))
        output = f"scaled {_target(config)} from {before} to {replicas} replicas"
        return ActionOutput(ok=replicas == config.replicas, output=output, data={"previous_replicas": before})

    def rollback(
        self, config: ScaleConfig, ctx: HookContext, output: ActionOutput | None = None
    ) -> RollbackSpec | None:
        """Scale back to the count found before, once execute() has recorded it."""
        if output is None or "previous_replicas" not in output.data:
            return None
        previous = int(output.data["previous_replicas"])
        spec = {"namespace": config.namespace, "deployment": config.deployment, "replicas": previous}
        return RollbackSpec(action="scale", config={**spec, "max_replicas": max(previous, config.max_replicas)})


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    template.get("metadata", {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
    return template


def pick_revision(replica_sets: list[dict[str, Any]], to_revision: int | None) -> dict[str, Any]:
    """The ReplicaSet to return to: the asked revision, or the second-highest one, as kubectl picks it."""
    by_revision = {revision_of(rs): rs for rs in replica_sets if revision_of(rs) > 0}
    if to_revision is not None:
        if to_revision not in by_revision:
            raise HookError(f"revision {to_revision} not found; known revisions: {sorted(by_revision) or 'none'}")
        return by_revision[to_revision]
    revisions = sorted(by_revision)
    if len(revisions) < 2:
        raise HookError("no previous revision to roll back to")
    return by_revision[revisions[-2]]


def undo_patch(deployment: dict[str, Any], replica_set: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON patch kubectl sends: the ReplicaSet's template, and its annotations merged over the kept ones."""
    kept = deployment["metadata"].get("annotations") or {}
    annotations = {k: v for k, v in kept.items() if k in ANNOTATIONS_TO_SKIP}
    annotations |= {
        k: v for k, v in (replica_set["metadata"].get("annotations") or {}).items() if k not in ANNOTATIONS_TO_SKIP
    }
    return [
        {"op": "replace", "path": "/spec/template", "value": _without_hash(replica_set["spec"]["template"])},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


@register
class Rollback(BaseAction):
    """Return a Deployment to an earlier revision, as `kubectl rollout undo`."""

    name: ClassVar[str] = "rollback"
    help: ClassVar[str] = "Kubernetes rollout undo of a Deployment to the previous (or a given) revision"
    config_model: ClassVar[type[RollbackConfig]] = RollbackConfig

    def describe(self, config: RollbackConfig, ctx: HookContext) -> str:
        """The undo, in words."""
        which = f"revision {config.to_revision}" if config.to_revision else "the previous revision"
        return (
            f"Roll back {_target(config)} to {which} (kubectl rollout undo): replace its pod template with that "
            f"ReplicaSet's; undo returns to the revision running now."
        )

    async def perform(self, config: RollbackConfig, ctx: HookContext) -> ActionOutput:
        """Find the target ReplicaSet and patch its template back into the Deployment."""
        path = deployment_path(config.namespace, config.deployment)
        async with _client(ctx) as client:
            deployment = await client.get(path)
            if deployment["spec"].get("paused"):
                raise HookError(f"{_target(config)} is paused; resume it before rolling back")
            current = revision_of(deployment)
            target = pick_revision(await owned_replica_sets(client, deployment), config.to_revision)
            data = {"previous_revision": current, "target_revision": revision_of(target)}
            if _without_hash(target["spec"]["template"]) == _without_hash(deployment["spec"]["template"]):
                output = (
                    f"skipped rollback: {_target(config)} already runs the template of revision {revision_of(target)}"
                )
                return ActionOutput(ok=True, output=output, data=data)
            await client.patch(path, undo_patch(deployment, target), JSON_PATCH)
        output = (
            f"rolled back {_target(config)} from revision {current} to the template of revision {revision_of(target)}"
        )
        return ActionOutput(ok=True, output=output, data=data)

    def rollback(
        self, config: RollbackConfig, ctx: HookContext, output: ActionOutput | None = None
    ) -> RollbackSpec | None:
        """Roll forward to the revision that ran before, once execute() has recorded it."""
        if output is None or not output.data.get("previous_revision"):
            return None
        spec = {"namespace": config.namespace, "deployment": config.deployment}
        return RollbackSpec(action="rollback", config={**spec, "to_revision": output.data["previous_revision"]})
