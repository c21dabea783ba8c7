"""Render and lint the Helm chart in-process through Helm's Go SDK (PyPI's helm-python-sdk), no helm binary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

helm = pytest.importorskip(
    "helm_python", reason="helm-python-sdk (Helm's Go SDK bound for Python, a dev dependency) is not installed"
)
from helm_python import _native  # noqa: E402  (render options the public wrapper does not pass on)

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "runbook-bot"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE = "rb"
NAMESPACE = "ops"
# A template's `fail` raises HelmRenderError, values.schema.json's refusal HelmValuesError; both are HelmError.
RenderError = helm.HelmError


def values_file(path: Path | None) -> dict[str, Any]:
    """The values of one ci/ file, or none for the chart's defaults."""
    return {} if path is None else dict(yaml.safe_load(path.read_text()) or {})


def render(values: dict[str, Any] | None = None, api_versions: list[str] | None = None) -> list[dict[str, Any]]:
    """Every object the chart renders for these values, as `helm template` would, parsed from YAML."""
    with helm.Chart.load(CHART) as chart:
        opts: dict[str, Any] = {"name": RELEASE, "namespace": NAMESPACE, "is_install": True}
        if api_versions:
            # The cluster's extra API groups (.Capabilities.APIVersions), as Helm sees them on a live install.
            opts["api_versions"] = api_versions
        raw = _native.call_string("helm_render", chart._raw(), json.dumps(values or {}), json.dumps(opts))
    manifests: dict[str, str] = json.loads(raw)
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def lint(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """`helm lint --strict` for these values: {"messages": [...], "errors": [...]}."""
    report: dict[str, Any] = helm.lint(CHART, values or {}, strict=True, namespace=NAMESPACE)
    return report


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The single object of a kind."""
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {[o['metadata']['name'] for o in found]}"
    return found[0]


def bot_env(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The bot container's plain environment variables."""
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "bot"
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}
