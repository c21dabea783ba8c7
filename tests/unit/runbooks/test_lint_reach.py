"""Lint warns where alert data chooses a URL or a Kubernetes object and the runbook declares no allow-list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.runbooks.lint import lint_paths

HTTP = {"id": "probe", "name": "Probe", "type": "http_check", "config": {"urls": ["${alert.annotations.url}"]}}
KUBE = {
    "id": "pods", "name": "Pods", "type": "kubernetes",
    "config": {"check": "pods", "namespace": "${alert.labels.namespace}", "deployment": "${alert.labels.app}"},
}  # fmt: skip
STATIC = {"id": "fixed", "name": "Fixed", "type": "http_check", "config": {"urls": ["https://shop.example.com/"]}}


def lint_runbook(folder: Path, **extra: Any) -> list[tuple[str, str, int]]:
    body = {"id": "reach", "name": "Reach", "owner": "@sre", "service": "*", "triggers": [{"alert": "A"}], **extra}
    (folder / "reach.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return [(p.level.value, p.code, p.line) for p in lint_paths([folder])]


def test_url_and_kubernetes_references_without_allow_lists_warn_once_per_config(tmp_path: Path) -> None:
    found = lint_runbook(tmp_path, diagnostics=[HTTP, KUBE, STATIC])
    assert [(level, code) for level, code, _ in found] == [("warning", "reach"), ("warning", "reach")]
    problems = lint_paths([tmp_path])
    assert "${alert.annotations.url} chooses where an HTTP request goes" in problems[0].message
    assert "${alert.labels.namespace} chooses a Kubernetes object" in problems[1].message


def test_declared_allow_lists_silence_the_warning(tmp_path: Path) -> None:
    assert (
        lint_runbook(tmp_path, diagnostics=[HTTP, KUBE], allowed_hosts=["*.example.com"], allowed_namespaces=["shop"])
        == []
    )


def test_a_static_invalid_namespace_is_a_config_error(tmp_path: Path) -> None:
    bad = {**KUBE, "config": {"check": "pods", "namespace": "Shop/x", "deployment": "orders"}}
    found = lint_runbook(tmp_path, diagnostics=[bad])
    assert [(level, code) for level, code, _ in found] == [("error", "config")]
    assert "DNS-1123" in lint_paths([tmp_path])[0].message
