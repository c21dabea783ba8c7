"""An aiohttp app speaking the slice of the Kubernetes API the hooks use, with a tiny Deployment controller."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

REVISION = "deployment.kubernetes.io/revision"


def _now(minutes_ago: float = 0) -> str:
    stamp = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    return stamp.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _json_patch(target: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    for op in ops:
        assert op["op"] == "replace", op
        *parents, last = op["path"].strip("/").split("/")
        node = target
        for part in parents:
            node = node[part]
        node[last] = copy.deepcopy(op["value"])


def _selected(labels: dict[str, str], selector: str) -> bool:
    wanted = dict(part.split("=", 1) for part in selector.split(",") if part)
    return all(labels.get(k) == v for k, v in wanted.items())


def _strip_hash(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    template["metadata"].get("labels", {}).pop("pod-template-hash", None)
    return template


@dataclass
class KubeState:
    """Objects by kind; `token` is the bearer token the fake accepts."""

    token: str = "kube-token-123"
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    replicasets: list[dict[str, Any]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    patches: list[tuple[str, str, Any]] = field(default_factory=list)
    # Every request that reached the server (method, raw path with query), before authentication.
    requests: list[tuple[str, str]] = field(default_factory=list)

    def add_deployment(self, ns: str, name: str, image: str, replicas: int = 3, minutes_ago: float = 30) -> None:
        """A Deployment at revision 1 with its ReplicaSet."""
        labels = {"app": name}
        template = {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{"name": name, "image": image}]}}
        self.deployments[(ns, name)] = {
            "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4()), "annotations": {}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
            "status": {"updatedReplicas": replicas, "availableReplicas": replicas},
        }
        self.reconcile(ns, name, minutes_ago)

    def reconcile(self, ns: str, name: str, minutes_ago: float = 0) -> None:
        """What the Deployment controller does: the ReplicaSet matching the template gets the newest revision."""
        deployment = self.deployments[(ns, name)]
        owned = [
            rs
            for rs in self.replicasets
            if rs["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
        ]
        top = max((int(rs["metadata"]["annotations"][REVISION]) for rs in owned), default=0)
        wanted = _strip_hash(deployment["spec"]["template"])
        match = next((rs for rs in owned if _strip_hash(rs["spec"]["template"]) == wanted), None)
        if match is not None and int(match["metadata"]["annotations"][REVISION]) == top:
            return
        if match is None:
            pod_hash = uuid.uuid4().hex[:10]
            template = copy.deepcopy(deployment["spec"]["template"])
            template["metadata"].setdefault("labels", {})["pod-template-hash"] = pod_hash
            annotations = {k: v for k, v in deployment["metadata"]["annotations"].items() if k != REVISION}
            match = {
                "metadata": {
                    "name": f"{name}-{pod_hash}",
                    "namespace": ns,
                    "labels": dict(template["metadata"]["labels"]),
                    "annotations": annotations,
                    "creationTimestamp": _now(minutes_ago),
                    "ownerReferences": [{"kind": "Deployment", "name": name, "uid": deployment["metadata"]["uid"]}],
                },
                "spec": {"template": template},
            }
            self.replicasets.append(match)
        match["metadata"]["annotations"][REVISION] = str(top + 1)
        deployment["metadata"]["annotations"][REVISION] = str(top + 1)


class FakeKubeApi:
    """Handlers for deployments (get, patch, scale), replicasets, pods and events, behind a bearer token."""

    def __init__(self, state: KubeState) -> None:
        self.state = state

    @web.middleware
    async def auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.state.requests.append((request.method, request.raw_path))
        if request.headers.get("Authorization") != f"Bearer {self.state.token}":
            body = {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401}
            return web.json_response(body, status=401)
        return await handler(request)

    def deployment(self, request: web.Request) -> dict[str, Any]:
        key = (request.match_info["ns"], request.match_info["name"])
        if key not in self.state.deployments:
            raise web.HTTPNotFound(
                text='{"kind":"Status","reason":"NotFound","code":404}', content_type="application/json"
            )
        return self.state.deployments[key]

    async def get_deployment(self, request: web.Request) -> web.Response:
        return web.json_response(self.deployment(request))

    async def patch_deployment(self, request: web.Request) -> web.Response:
        obj, body = self.deployment(request), await request.json()
        self.state.patches.append((request.match_info["name"], request.content_type, body))
        if request.content_type == "application/json-patch+json":
            _json_patch(obj, body)
        elif request.content_type in ("application/strategic-merge-patch+json", "application/merge-patch+json"):
            _merge(obj, body)
        else:
            return web.json_response({"reason": "UnsupportedMediaType"}, status=415)
        self.state.reconcile(request.match_info["ns"], request.match_info["name"])
        return web.json_response(obj)

    async def get_scale(self, request: web.Request) -> web.Response:
        obj = self.deployment(request)
        return web.json_response({"kind": "Scale", "spec": {"replicas": obj["spec"]["replicas"]}})

    async def patch_scale(self, request: web.Request) -> web.Response:
        obj, body = self.deployment(request), await request.json()
        if request.content_type != "application/merge-patch+json":
            return web.json_response({"reason": "UnsupportedMediaType"}, status=415)
        obj["spec"]["replicas"] = body["spec"]["replicas"]
        return web.json_response({"kind": "Scale", "spec": {"replicas": obj["spec"]["replicas"]}})

    @staticmethod
    def listing(items: list[dict[str, Any]], request: web.Request) -> web.Response:
        ns, selector = request.match_info["ns"], request.query.get("labelSelector", "")
        found = [
            i
            for i in items
            if i["metadata"]["namespace"] == ns and _selected(i["metadata"].get("labels", {}), selector)
        ]
        field_selector = request.query.get("fieldSelector", "")
        if field_selector.startswith("type="):
            found = [i for i in found if i.get("type") == field_selector[5:]]
        return web.json_response({"kind": "List", "items": found})

    async def replicasets(self, request: web.Request) -> web.Response:
        return self.listing(self.state.replicasets, request)

    async def pods(self, request: web.Request) -> web.Response:
        return self.listing(self.state.pods, request)

    async def events(self, request: web.Request) -> web.Response:
        return self.listing(self.state.events, request)


def kubernetes_app(state: KubeState) -> web.Application:
    """The fake API server as an aiohttp app."""
    api = FakeKubeApi(state)
    app = web.Application(middlewares=[api.auth])
    base = "/apis/apps/v1/namespaces/{ns}"
    app.router.add_get(base + "/deployments/{name}", api.get_deployment)
    app.router.add_patch(base + "/deployments/{name}", api.patch_deployment)
    app.router.add_get(base + "/deployments/{name}/scale", api.get_scale)
    app.router.add_patch(base + "/deployments/{name}/scale", api.patch_scale)
    app.router.add_get(base + "/replicasets", api.replicasets)
    app.router.add_get("/api/v1/namespaces/{ns}/pods", api.pods)
    app.router.add_get("/api/v1/namespaces/{ns}/events", api.events)
    return app


def pod(
    ns: str, name: str, app: str, ready: bool, restarts: int = 0, oom: bool = False, waiting: str | None = None
) -> dict[str, Any]:
    """A pod object as the API returns it."""
    status: dict[str, Any] = {"restartCount": restarts, "state": {"running": {}}, "lastState": {}}
    if oom:
        status["lastState"] = {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
    if waiting:
        status["state"] = {"waiting": {"reason": waiting}}
    return {
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [status],
        },
    }


def event(
    ns: str, obj: str, reason: str, minutes_ago: float, kind: str = "Pod", type_: str = "Warning"
) -> dict[str, Any]:
    """An events/v1-style core Event."""
    return {
        "metadata": {"name": f"{obj}.{uuid.uuid4().hex[:8]}", "namespace": ns},
        "type": type_,
        "reason": reason,
        "message": f"{reason} on {obj}",
        "involvedObject": {"kind": kind, "name": obj},
        "count": 2,
        "lastTimestamp": _now(minutes_ago),
    }
