"""Tests for llmscale.aws.iam: every policy document is valid JSON, least privilege and scoped to what it is given."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmscale.aws import iam

INSTANCE_ARN = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0"
AUTOMATION_ARN = "arn:aws:ssm:eu-west-1::automation-definition/AWS-RestartEC2Instance:*"
PARAMETER_ARNS = [
    "arn:aws:ssm:eu-west-1:123456789012:parameter/llmscale/single-gpu/hf-token",
    "arn:aws:ssm:eu-west-1:123456789012:parameter/llmscale/single-gpu/api-keys",
]

# Every policy builder of llmscale.aws.iam with example arguments; the completeness test below keeps this in step.
BUILDERS: dict[str, tuple[Any, ...]] = {
    "assume_role_policy": ("ec2.amazonaws.com",),
    "read_parameters_policy": (PARAMETER_ARNS,),
    "start_stop_instance_policy": (INSTANCE_ARN,),
    "restart_instance_automation_policy": (INSTANCE_ARN, AUTOMATION_ARN),
    "read_bundle_policy": ("arn:aws:s3:::llmscale-bundle-abc", "bundle", PARAMETER_ARNS),
    "policy_document": ([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/k"}],),
}


def as_list(value: Any) -> list[Any]:
    """IAM allows a single value or a list wherever a list is allowed."""
    return value if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document["Statement"])


def build(name: str) -> dict[str, Any]:
    builder: Callable[..., str] = getattr(iam, name)
    text = builder(*BUILDERS[name])
    assert isinstance(text, str)
    return json.loads(text)


def is_wildcard_action(action: str) -> bool:
    """`*` or a whole service (`ec2:*`)."""
    return action == "*" or action.endswith(":*")


def test_every_policy_builder_is_covered() -> None:
    public = {
        name
        for name, function in inspect.getmembers(iam, inspect.isfunction)
        if function.__module__ == iam.__name__ and not name.startswith("_")
    }
    assert public == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_policy_is_valid_json_with_current_version(name: str) -> None:
    document = build(name)
    assert document["Version"] == "2012-10-17"
    assert statements(document), "a policy needs at least one statement"
    for statement in statements(document):
        assert statement["Effect"] in ("Allow", "Deny")
        assert "Action" in statement


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_no_wildcard_action_on_every_resource(name: str) -> None:
    for statement in statements(build(name)):
        actions = as_list(statement["Action"])
        resources = as_list(statement.get("Resource", []))
        assert not ("*" in resources and any(is_wildcard_action(a) for a in actions)), statement
        # A wildcard action is never acceptable in these policies, even on a named resource.
        assert not any(is_wildcard_action(a) for a in actions), statement


@pytest.mark.parametrize("name", sorted(set(BUILDERS) - {"assume_role_policy"}))
def test_permission_policies_are_allow_only(name: str) -> None:
    assert all(statement["Effect"] == "Allow" for statement in statements(build(name)))


def test_read_parameters_policy_lists_exactly_the_given_arns() -> None:
    document = json.loads(iam.read_parameters_policy(PARAMETER_ARNS))
    [statement] = statements(document)
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["ssm:GetParameter"]
    assert sorted(as_list(statement["Resource"])) == sorted(PARAMETER_ARNS)
    assert "*" not in as_list(statement["Resource"])


def test_read_parameters_policy_accepts_a_tuple_as_pulumi_all_hands_it() -> None:
    document = json.loads(iam.read_parameters_policy(tuple(PARAMETER_ARNS)))
    assert sorted(as_list(statements(document)[0]["Resource"])) == sorted(PARAMETER_ARNS)


PARAMETER_ARN = r"arn:aws:ssm:eu-west-1:[0-9]{12}:parameter/llmscale/[a-z][a-z0-9-]{0,20}/[a-z-]{1,20}"
parameter_arns = st.lists(
    st.from_regex(PARAMETER_ARN, fullmatch=True),
    min_size=1,
    max_size=6,
    unique=True,
)


@given(parameter_arns)
def test_read_parameters_policy_property(arns: list[str]) -> None:
    document = json.loads(iam.read_parameters_policy(arns))
    assert document["Version"] == "2012-10-17"
    all_actions = [a for s in statements(document) for a in as_list(s["Action"])]
    all_resources = [r for s in statements(document) for r in as_list(s["Resource"])]
    assert set(all_actions) == {"ssm:GetParameter"}
    assert sorted(all_resources) == sorted(arns)


@pytest.mark.parametrize("service", ["ec2.amazonaws.com", "scheduler.amazonaws.com", "events.amazonaws.com"])
def test_assume_role_policy_names_the_service_principal(service: str) -> None:
    document = json.loads(iam.assume_role_policy(service))
    assert document["Version"] == "2012-10-17"
    [statement] = statements(document)
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": service}
    assert as_list(statement["Action"]) == ["sts:AssumeRole"]
    assert "Resource" not in statement


def test_start_stop_instance_policy_is_scoped_to_the_instance() -> None:
    [statement] = statements(json.loads(iam.start_stop_instance_policy(INSTANCE_ARN)))
    assert sorted(as_list(statement["Action"])) == ["ec2:StartInstances", "ec2:StopInstances"]
    assert as_list(statement["Resource"]) == [INSTANCE_ARN]


def test_restart_automation_policy_scopes_each_mutating_action() -> None:
    document = json.loads(iam.restart_instance_automation_policy(INSTANCE_ARN, AUTOMATION_ARN))
    by_action: dict[str, list[str]] = {}
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            by_action.setdefault(action, []).extend(as_list(statement["Resource"]))
    assert by_action["ssm:StartAutomationExecution"] == [AUTOMATION_ARN]
    assert by_action["ec2:StartInstances"] == [INSTANCE_ARN]
    assert by_action["ec2:StopInstances"] == [INSTANCE_ARN]
    # Only read-only Describe calls may name no resource (IAM cannot scope them).
    unscoped = {action for action, resources in by_action.items() if "*" in resources}
    assert unscoped <= {"ec2:DescribeInstances", "ec2:DescribeInstanceStatus"}
    assert all(action.split(":")[1].startswith("Describe") for action in unscoped)


def test_ssm_core_policy_is_the_aws_managed_one() -> None:
    assert iam.SSM_CORE_POLICY == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


SOURCE_ACCOUNT = "123456789012"
RULE_ARN = f"arn:aws:events:eu-west-1:{SOURCE_ACCOUNT}:rule/restart-gpu-host"


@pytest.mark.parametrize(
    ("service", "source_arn"),
    [
        ("scheduler.amazonaws.com", iam.SCHEDULE_GROUP_ARN.format(region="eu-west-1", account=SOURCE_ACCOUNT)),
        ("events.amazonaws.com", RULE_ARN),
        ("s3.amazonaws.com", "arn:aws:s3:::enterprise-models-20250101"),
    ],
)
def test_a_service_role_trusts_its_service_only_for_one_resource_of_the_account(service: str, source_arn: str) -> None:
    """Confused-deputy protection: the service may assume the role only on behalf of this account's resource."""
    document = json.loads(iam.assume_role_policy(service, source_account=SOURCE_ACCOUNT, source_arn=source_arn))
    [statement] = statements(document)
    assert statement["Principal"] == {"Service": service}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": SOURCE_ACCOUNT},
        "ArnEquals": {"aws:SourceArn": source_arn},
    }


def test_the_schedule_group_arn_is_the_default_group_of_the_account_and_region() -> None:
    arn = iam.SCHEDULE_GROUP_ARN.format(region="eu-west-1", account=SOURCE_ACCOUNT)
    assert arn == "arn:aws:scheduler:eu-west-1:123456789012:schedule-group/default"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source_account": SOURCE_ACCOUNT}, "give both"),
        ({"source_arn": RULE_ARN}, "give both"),
        ({"source_account": "None", "source_arn": RULE_ARN}, "12-digit"),
        ({"source_account": "12345678901", "source_arn": RULE_ARN}, "12-digit"),
        ({"source_account": SOURCE_ACCOUNT, "source_arn": "restart-gpu-host"}, "not an ARN"),
    ],
)
def test_a_half_or_malformed_source_condition_is_refused(kwargs: dict[str, str], message: str) -> None:
    """An unresolved account (None) must never become a condition that matches nothing or everything."""
    with pytest.raises(ValueError, match=message):
        iam.assume_role_policy("events.amazonaws.com", **kwargs)
