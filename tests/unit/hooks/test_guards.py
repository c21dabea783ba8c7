"""Field types of hook configs and the pure rules for Kubernetes names and argv elements."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.errors import HookError
from hooks.guards import (
    FieldType,
    argv_element_problem,
    name_problem,
    namespace_allowed,
    namespace_problem,
    typed_fields,
)
from hooks.http import HttpCheckConfig
from hooks.kubeactions import DeploymentConfig, ScaleConfig
from hooks.kubeclient import deployment_path, segment
from hooks.kubernetes import KubernetesConfig
from hooks.loki import LogSearchConfig
from hooks.notify import NotifyConfig
from hooks.postgres import DatabaseQueryConfig
from hooks.prometheus import PrometheusQueryConfig
from hooks.shell import RunScriptConfig, ShellCommandConfig

HOSTILE = ["kube-system/deployments/coredns?dryRun=x&y=", "../../../api", "..", "%2F", "Shop", "a" * 254, "shop\n", ""]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_neither_namespaces_nor_names(value: str) -> None:
    assert namespace_problem(value) is not None
    assert name_problem(value) is not None


def test_valid_names_and_the_length_limits() -> None:
    assert namespace_problem("shop-2") is None and name_problem("orders.v2-api") is None
    assert namespace_problem("a" * 63) is None and namespace_problem("a" * 64) is not None
    assert name_problem("a" * 63 + "." + "b" * 63) is None and namespace_problem("orders.v2") is not None
    assert "253" in (name_problem(".".join(["a" * 60] * 5)) or "")


def test_argv_rule_and_namespace_allow_list() -> None:
    assert argv_element_problem("--version") and argv_element_problem("-") and argv_element_problem("node-7") is None
    assert namespace_allowed("shop", None) is None and namespace_allowed("shop", ["sh*"]) is None
    assert "allowed_namespaces" in (namespace_allowed("shop", ["orders"]) or "")
    assert "system namespace" in (namespace_allowed("kube-system", ["*"]) or "")
    assert namespace_allowed("kube-system", ["kube-system"]) is None


def test_config_models_declare_their_field_types() -> None:
    assert typed_fields(KubernetesConfig) == {"namespace": FieldType.KUBE_NAMESPACE, "deployment": FieldType.KUBE_NAME}
    assert typed_fields(ScaleConfig) == typed_fields(DeploymentConfig) == {
        "namespace": FieldType.KUBE_NAMESPACE, "deployment": FieldType.KUBE_NAME,
    }  # fmt: skip
    assert typed_fields(ShellCommandConfig) == typed_fields(RunScriptConfig) == {"argv": FieldType.ARGV}
    assert typed_fields(HttpCheckConfig) == {"urls": FieldType.URL}
    assert typed_fields(NotifyConfig) == {"webhook_url": FieldType.URL}
    assert typed_fields(DatabaseQueryConfig) == {"query": FieldType.SQL}
    assert typed_fields(PrometheusQueryConfig) == typed_fields(LogSearchConfig) == {"url": FieldType.URL}


def test_models_refuse_invalid_kubernetes_names_whatever_their_source() -> None:
    with pytest.raises(ValidationError, match="DNS-1123"):
        DeploymentConfig(namespace="kube-system/deployments/coredns?x=", deployment="orders")
    with pytest.raises(ValidationError, match="DNS-1123"):
        KubernetesConfig(check="rollout", namespace="shop", deployment="../secrets")


def test_path_segments_are_escaped_and_dot_segments_refused() -> None:
    assert deployment_path("shop", "orders") == "/apis/apps/v1/namespaces/shop/deployments/orders"
    assert segment("a/b?c=d#e") == "a%2Fb%3Fc%3Dd%23e"
    for bad in ("", ".", ".."):
        with pytest.raises(HookError):
            segment(bad)
