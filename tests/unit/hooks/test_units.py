"""Pure parts of the hooks: Prometheus result parsing, the shell allow-list, kubeconfig and rollout helpers."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
import yaml

from bot.errors import HookError, UpstreamError
from hooks.kubeactions import pick_revision, undo_patch
from hooks.kubeclient import credentials_from_kubeconfig
from hooks.kubernetes import pod_summary
from hooks.prometheus import parse_query_data
from hooks.shell import resolve_allowed, scrubbed_env


def test_prometheus_result_types() -> None:
    matrix = {"resultType": "matrix", "result": [{"metric": {"a": "1"}, "values": [[1, "1"], [2, "7"]]}]}
    assert parse_query_data(matrix)[0] == 7.0
    assert parse_query_data({"resultType": "vector", "result": []}) == (None, [], "vector")
    value, series, _ = parse_query_data({"resultType": "vector", "result": [{"metric": {}, "value": [1, "NaN"]}]})
    assert value != value and len(series) == 1  # NaN is a value, not "no data"
    with pytest.raises(UpstreamError):
        parse_query_data({"resultType": "weird", "result": []})


def test_allowlist_by_name_path_and_fixed_arguments() -> None:
    path = scrubbed_env()["PATH"]
    assert resolve_allowed(["ls", "-l"], ["ls"], path).endswith("/ls")
    assert resolve_allowed([sys.executable, "-V"], [sys.executable], path) == sys.executable
    with pytest.raises(HookError, match="not on SHELL_ALLOWLIST"):
        resolve_allowed(["ls"], ["systemctl status"], path)
    with pytest.raises(HookError, match="not on SHELL_ALLOWLIST"):
        resolve_allowed(["systemctl", "stop", "x"], ["systemctl status"], path)
    with pytest.raises(HookError, match="not found"):
        resolve_allowed(["no-such-tool-xyz"], ["no-such-tool-xyz"], path)
    with pytest.raises(HookError):
        resolve_allowed(["./ls"], ["ls"], path)  # a path must match an entry exactly


def test_kubeconfig_client_certificate_and_exec_refused(tmp_path: Path) -> None:
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    config = {
        "current-context": "prod",
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": "https://k8s:6443/",
                    "certificate-authority-data": base64.b64encode(ca.encode()).decode(),
                },
            }
        ],
        "users": [
            {
                "name": "u",
                "user": {"client-certificate": "cert.pem", "client-key-data": base64.b64encode(b"KEY").decode()},
            }
        ],
    }
    (tmp_path / "cert.pem").write_text("CERT")
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    creds = credentials_from_kubeconfig(path)
    assert (creds.server, creds.ca_pem, creds.client_cert_pem, creds.client_key_pem) == (
        "https://k8s:6443",
        ca,
        "CERT",
        "KEY",
    )
    config["users"] = [{"name": "u", "user": {"exec": {"command": "aws"}}}]
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(HookError, match="exec/auth-provider"):
        credentials_from_kubeconfig(path)
    config["current-context"] = "missing"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(HookError, match="no context named 'missing'"):
        credentials_from_kubeconfig(path)


def _rs(revision: int, image: str, extra: dict[str, str] | None = None) -> dict[str, object]:
    annotations = {"deployment.kubernetes.io/revision": str(revision), **(extra or {})}
    template = {"metadata": {"labels": {"app": "x", "pod-template-hash": f"h{revision}"}}, "spec": {"image": image}}
    return {"metadata": {"annotations": annotations}, "spec": {"template": template}}


def test_pick_revision_like_kubectl() -> None:
    sets = [_rs(1, "a"), _rs(4, "d"), _rs(3, "c")]
    assert pick_revision(sets, None) is sets[2]
    assert pick_revision(sets, 1) is sets[0]
    with pytest.raises(HookError, match="known revisions: \\[1, 3, 4\\]"):
        pick_revision(sets, 2)


def test_undo_patch_keeps_skipped_annotations_and_drops_the_hash() -> None:
    deployment = {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "4", "team": "old"}}}
    target = _rs(3, "c", {"kubernetes.io/change-cause": "deploy c"})
    template_op, annotations_op = undo_patch(deployment, target)
    assert template_op["value"]["metadata"]["labels"] == {"app": "x"}
    assert annotations_op["value"] == {
        "deployment.kubernetes.io/revision": "4",
        "kubernetes.io/change-cause": "deploy c",
    }


def test_pod_summary_skips_completed_pods() -> None:
    done = {"metadata": {"name": "job"}, "status": {"phase": "Succeeded"}}
    assert pod_summary([done])["total"] == 0
