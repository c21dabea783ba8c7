"""A small async client for the Kubernetes REST API: in-cluster, kubeconfig or settings credentials."""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import yaml

from bot.errors import HookError
from bot.settings import Settings
from hooks.transport import json_body, make_client, raise_for_status, translate_http_errors

SYSTEM = "Kubernetes API"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class KubeCredentials:
    """Where the API server is and how to authenticate to it."""

    server: str
    token: str | None = None
    ca_pem: str | None = None
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    verify: bool = True

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS settings httpx needs: our CA and client certificate, or plain verify on/off."""
        if not self.server.startswith("https"):
            return True
        if not self.verify:
            return False
        context = ssl.create_default_context(cadata=self.ca_pem) if self.ca_pem else ssl.create_default_context()
        if self.client_cert_pem and self.client_key_pem:
            # load_cert_chain only reads files; the PEMs live on disk for the call and are removed at once.
            with tempfile.TemporaryDirectory(prefix="rb-kube-") as tmp:
                cert, key = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
                cert.write_text(self.client_cert_pem)
                key.write_text(self.client_key_pem)
                key.chmod(0o600)
                context.load_cert_chain(cert, key)
        return context


def _inline_or_file(entry: dict[str, Any], key: str, base: Path) -> str | None:
    data = entry.get(f"{key}-data")
    if data:
        return base64.b64decode(data).decode()
    path = entry.get(key)
    return (base / path).read_text() if path else None


def _named(items: list[dict[str, Any]], name: str, what: str, path: Path) -> dict[str, Any]:
    for item in items or []:
        if item.get("name") == name:
            return dict(item.get(what) or {})
    raise HookError(f"kubeconfig {path} has no {what} named {name!r}")


def credentials_from_kubeconfig(path: Path, context_name: str | None = None) -> KubeCredentials:
    """Credentials of the kubeconfig's current context (bearer token or client certificate)."""
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise HookError(f"cannot read kubeconfig {path}: {exc}") from exc
    name = context_name or config.get("current-context")
    if not name:
        raise HookError(f"kubeconfig {path} sets no current-context")
    context = _named(config.get("contexts", []), name, "context", path)
    cluster = _named(config.get("clusters", []), context.get("cluster", ""), "cluster", path)
    user = _named(config.get("users", []), context.get("user", ""), "user", path) if context.get("user") else {}
    if "exec" in user or "auth-provider" in user:
        raise HookError(
            f"kubeconfig user {context.get('user')!r} uses exec/auth-provider plugins; give a token instead"
        )
    base = path.parent
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (base / user["tokenFile"]).read_text().strip()
    return KubeCredentials(
        server=str(cluster.get("server", "")).rstrip("/"),
        token=token,
        ca_pem=_inline_or_file(cluster, "certificate-authority", base),
        client_cert_pem=_inline_or_file(user, "client-certificate", base),
        client_key_pem=_inline_or_file(user, "client-key", base),
        verify=not cluster.get("insecure-skip-tls-verify", False),
    )


def credentials_in_cluster(sa_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeCredentials | None:
    """The pod's service-account credentials, or None outside a cluster."""
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    token_file = sa_dir / "token"
    if not host or not token_file.exists():
        return None
    host = f"[{host}]" if ":" in host else host
    ca_file = sa_dir / "ca.crt"
    ca = ca_file.read_text() if ca_file.exists() else None
    return KubeCredentials(server=f"https://{host}:{port}", token=token_file.read_text().strip(), ca_pem=ca)


def resolve_credentials(settings: Settings) -> KubeCredentials:
    """KUBERNETES_API_URL (+token), else KUBECONFIG, else the in-cluster service account."""
    if settings.kubernetes_api_url:
        token = settings.kubernetes_token.get_secret_value() if settings.kubernetes_token else None
        url = settings.kubernetes_api_url.rstrip("/")
        return KubeCredentials(server=url, token=token, verify=settings.kubernetes_verify_tls)
    if settings.kubeconfig:
        return credentials_from_kubeconfig(Path(settings.kubeconfig).expanduser())
    found = credentials_in_cluster()
    if found is None:
        raise HookError("no Kubernetes credentials: set KUBERNETES_API_URL, KUBECONFIG, or run in a cluster")
    return found


class KubeClient:
    """GET and PATCH against the API server, errors translated; use as an async context manager."""

    def __init__(self, credentials: KubeCredentials, timeout_s: float = 10.0) -> None:
        self.credentials = credentials
        headers = {"Authorization": f"Bearer {credentials.token}"} if credentials.token else {}
        self._http = make_client(
            timeout_s, base_url=credentials.server, headers=headers, verify=credentials.ssl_context()
        )

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        with translate_http_errors(SYSTEM, self.credentials.server + path):
            response = await self._http.request(method, path, **kwargs)
        raise_for_status(response, SYSTEM)
        return json_body(response, SYSTEM)

    async def get(self, path: str, **params: str) -> Any:
        """GET a path (params as query string) and return the decoded object."""
        return await self._send("GET", path, params=params or None)

    async def patch(self, path: str, body: Any, content_type: str = STRATEGIC_MERGE) -> Any:
        """PATCH a path with the given patch type and return the updated object."""
        return await self._send("PATCH", path, json=body, headers={"Content-Type": content_type})


def segment(value: str) -> str:
    """One API path segment, percent-escaped whatever it holds; empty, '.' and '..' are refused."""
    if value in ("", ".", ".."):
        raise HookError(f"{value!r} cannot be a Kubernetes API path segment")
    return quote(value, safe="")


def deployment_path(namespace: str, name: str) -> str:
    """API path of one Deployment."""
    return f"/apis/apps/v1/namespaces/{segment(namespace)}/deployments/{segment(name)}"


def namespaced_path(prefix: str, namespace: str, resource: str) -> str:
    """API path of a resource collection in a namespace, e.g. ('/api/v1', 'shop', 'pods')."""
    return f"{prefix}/namespaces/{segment(namespace)}/{resource}"


def label_selector(match_labels: dict[str, str]) -> str:
    """A labelSelector query value from matchLabels."""
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))
