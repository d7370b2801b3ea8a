"""Trust policies of the roles AWS services assume on the stack's behalf: the night schedule's (EventBridge
Scheduler), the host restart's (EventBridge rule to SSM automation) and the model store's replication (S3).

Each trusts its service only for one resource of the deploying account (aws:SourceAccount, aws:SourceArn), so
another account's schedule, rule or bucket cannot make the service act with this role (the confused deputy).
The components run in update mode, where the account (from `sts:GetCallerIdentity`) and ARNs are known.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws
import pytest

from components.aws.instance_recovery import InstanceRecovery
from components.aws.instance_schedule import InstanceSchedule
from components.aws.model_store import ModelStore
from llmscale.config.models import ScheduleConfig
from llmscale.plan.recorder import is_unknown
from tests.aws_harness import ACCOUNT, CALLER_IDENTITY, Run, run

ROLE = "aws:iam/role:Role"
RULE = "aws:cloudwatch/eventRule:EventRule"
INSTANCE_ID = "i-0123456789abcdef0"
INSTANCE_ARN = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/{INSTANCE_ID}"


def trust(plan: Run, name: str) -> dict[str, Any]:
    [statement] = json.loads(plan.one(ROLE, name).inputs["assumeRolePolicy"])["Statement"]
    return statement


def schedule(invokes: dict[str, Any] | None = None) -> Run:
    def program() -> None:
        InstanceSchedule(
            "host-schedule",
            instance_id=INSTANCE_ID,
            instance_arn=INSTANCE_ARN,
            schedule=ScheduleConfig(),
            region="eu-central-1",
            tags={},
        )

    return run(program, invokes=invokes)


def recovery() -> Run:
    def program() -> None:
        InstanceRecovery(
            "host-recovery", instance_id=INSTANCE_ID, instance_arn=INSTANCE_ARN, region="eu-west-1", tags={}
        )

    return run(program)


def test_scheduler_role_trusts_only_this_accounts_default_schedule_group() -> None:
    statement = trust(schedule(), "host-schedule-scheduler")
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": f"arn:aws:scheduler:eu-central-1:{ACCOUNT}:schedule-group/default"},
    }


def test_scheduler_role_follows_the_deploying_account() -> None:
    other = "210987654321"
    plan = schedule({CALLER_IDENTITY: {"accountId": other, "arn": f"arn:aws:iam::{other}:role/ci", "userId": "x"}})
    condition = trust(plan, "host-schedule-scheduler")["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": other}
    assert f":{other}:schedule-group/default" in condition["ArnEquals"]["aws:SourceArn"]


def test_restart_role_trusts_eventbridge_only_for_its_own_rule() -> None:
    plan = recovery()
    statement = trust(plan, "host-recovery-restart")
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    # The ARN the harness gives the rule (service from the type token `aws:cloudwatch/eventRule`).
    rule_arn = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:host-recovery-system-check"
    assert plan.one(RULE).name == "host-recovery-system-check"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": rule_arn},
    }


def test_replication_role_trusts_s3_only_for_the_primary_bucket_of_this_account() -> None:
    def program() -> dict[str, Any]:
        standby = aws.Provider("standby", region="us-west-2")
        store = ModelStore("models", tags={}, replica_region="us-west-2", replica_provider=standby)
        return {"bucket_arn": store.bucket_arn, "replica_arn": store.replica_bucket_arn}

    plan = run(program)
    statement = trust(plan, "models-replication")
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": plan.values["bucket_arn"]},
    }
    assert plan.values["bucket_arn"] != plan.values["replica_arn"]


def test_an_unknown_account_fails_the_deployment_instead_of_trusting_anyone() -> None:
    """No account in the caller identity (a broken credential chain) must not yield a condition-less trust."""
    with pytest.raises(Exception, match="source_account"):
        schedule({CALLER_IDENTITY: {}})


def test_the_offline_plan_shows_the_trust_as_unknown_not_invented() -> None:
    def program() -> None:
        InstanceSchedule(
            "host-schedule",
            instance_id=INSTANCE_ID,
            instance_arn=INSTANCE_ARN,
            schedule=ScheduleConfig(),
            region="eu-central-1",
            tags={},
        )

    plan = run(program, offline_plan=True)
    assert is_unknown(plan.one(ROLE).inputs["assumeRolePolicy"])
