"""Config checks of what a real deployment needs: TLS per platform, model-store paths, shared caches on EKS, and
stack names that keep AWS resource names within their limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import llmscale.program
from llmscale.config.deploy_checks import LONGEST_ROLE_SUFFIX, MAX_STACK_NAME, PULUMI_SUFFIX
from llmscale.config.errors import ConfigError
from llmscale.config.loader import load_stack
from llmscale.plan.runner import run_program
from tests.helpers import write_variant

# AWS name limits of the auto-named resources llmscale registers (Pulumi appends `-` and 7 hex digits), and the
# input that, when set, names the resource instead.
NAME_LIMITS: dict[str, tuple[int, str]] = {
    "aws:iam/role:Role": (64, "name"),
    "aws:iam/rolePolicy:RolePolicy": (128, "name"),
    "aws:iam/policy:Policy": (128, "name"),
    "aws:eks/nodeGroup:NodeGroup": (63, "nodeGroupName"),
    "aws:scheduler/schedule:Schedule": (64, "name"),
    "aws:cloudwatch/eventRule:EventRule": (64, "name"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (255, "name"),
    "aws:ec2/securityGroup:SecurityGroup": (255, "name"),
    "aws:ssm/parameter:Parameter": (2048, "name"),
}


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_stack(str(path))
    return error.value.lines()


def gateway(**values: Any) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        config.setdefault("llmscale:gateway", {}).update(values)

    return change


def test_aws_takes_tls_from_its_own_certificate_not_a_secret(tmp_path: Path) -> None:
    (line,) = problems(write_variant(tmp_path, "multi-gpu", gateway(tlsSecretName="llm-tls")))
    assert line.endswith(
        "llmscale:gateway.tlsSecretName: platform aws terminates TLS at its load balancer with an ACM certificate: "
        "set gateway.hostname and gateway.hostedZoneId instead"
    )


def test_a_hosted_zone_needs_the_host_name(tmp_path: Path) -> None:
    def no_hostname(config: dict[str, Any]) -> None:
        del config["llmscale:gateway"]["hostname"]

    (line,) = problems(write_variant(tmp_path, "multi-gpu", no_hostname))
    assert "llmscale:gateway.hostname: gateway.hostedZoneId is set" in line


@pytest.mark.parametrize(
    ("values", "key"),
    [({"tlsTerminatedUpstream": True}, "tlsTerminatedUpstream"), ({"serviceType": "NodePort"}, "serviceType")],
)
def test_existing_cluster_keys_are_refused_on_aws(tmp_path: Path, values: dict[str, Any], key: str) -> None:
    (line,) = problems(write_variant(tmp_path, "multi-gpu", gateway(**values)))
    assert f"llmscale:gateway.{key}: only for an existing cluster" in line


def test_a_hosted_zone_is_refused_on_an_existing_cluster(tmp_path: Path) -> None:
    (line,) = problems(write_variant(tmp_path, "onprem", gateway(hostedZoneId="Z0123456789ABCDEFGHIJ")))
    assert "llmscale:gateway.hostedZoneId: only used on platform aws" in line


def test_store_models_need_the_stacks_model_store(tmp_path: Path) -> None:
    def store(config: dict[str, Any]) -> None:
        config["llmscale:models"][0]["model"] = "store://org/model/"

    (line,) = problems(write_variant(tmp_path, "onprem", store))
    assert "llmscale:models[0].model: store:// reads the stack's model store" in line
    load_stack(str(write_variant(tmp_path, "multi-gpu", store)))  # the multi-gpu tier on aws has one


def test_a_shared_cache_on_eks_needs_a_read_write_many_class(tmp_path: Path) -> None:
    def pvc(config: dict[str, Any]) -> None:
        config["llmscale:kubernetes"] = {"modelCache": {"type": "pvc"}}

    (line,) = problems(write_variant(tmp_path, "multi-gpu", pvc))
    assert "llmscale:kubernetes.modelCache.storageClass: a shared cache needs ReadWriteMany volumes" in line

    def efs(config: dict[str, Any]) -> None:
        config["llmscale:kubernetes"] = {"modelCache": {"type": "pvc", "storageClass": "efs-sc"}}

    load_stack(str(write_variant(tmp_path, "multi-gpu", efs)))


# --- names within AWS limits -------------------------------------------------------------------------------------


def test_the_longest_role_suffix_is_the_standby_autoscalers() -> None:
    assert MAX_STACK_NAME == 64 - PULUMI_SUFFIX - LONGEST_ROLE_SUFFIX == 32


def test_a_stack_name_past_the_limit_is_refused_on_aws(tmp_path: Path) -> None:
    name = "a" * (MAX_STACK_NAME + 1)
    (line,) = problems(write_variant(tmp_path, "enterprise", lambda c: None, name=name))
    assert line.endswith(
        f"stack name: is {MAX_STACK_NAME + 1} characters; on platform aws at most {MAX_STACK_NAME}, so that the IAM "
        "role names derived from it stay within AWS's 64-character limit"
    )


def test_long_names_are_fine_off_aws(tmp_path: Path) -> None:
    load_stack(str(write_variant(tmp_path, "onprem", lambda c: None, name="o" * 60)))


@pytest.mark.parametrize("example", ["single-gpu", "multi-gpu", "enterprise"])
def test_every_auto_named_resource_fits_under_the_longest_accepted_name(tmp_path: Path, example: str) -> None:
    name = "n" * MAX_STACK_NAME
    result = run_program(
        load_stack(str(write_variant(tmp_path, example, lambda c: None, name=name))), llmscale.program.main
    )
    checked = 0
    for resource in result.resources:
        if resource.type not in NAME_LIMITS:
            continue
        limit, name_input = NAME_LIMITS[resource.type]
        if name_input in resource.inputs:
            continue
        checked += 1
        assert len(resource.name) + PULUMI_SUFFIX <= limit, f"{resource.type} {resource.name}"
    assert checked > 0
