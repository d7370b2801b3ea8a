"""The night schedule of one instance: EventBridge Scheduler starts it and stops it in the stack's time zone."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from llmscale.aws import iam
from llmscale.config.models import ScheduleConfig
from llmscale.serving.schedules import eventbridge_expressions

START_TARGET = "arn:aws:scheduler:::aws-sdk:ec2:startInstances"
STOP_TARGET = "arn:aws:scheduler:::aws-sdk:ec2:stopInstances"


class InstanceSchedule(pulumi.ComponentResource):
    """Start the instance when the active window opens and stop it when it closes, with its own IAM role.

    The role trusts EventBridge Scheduler only for this account's default schedule group (aws:SourceAccount,
    aws:SourceArn), and may start and stop this one instance.
    """

    role_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        instance_id: pulumi.Input[str],
        instance_arn: pulumi.Input[str],
        schedule: ScheduleConfig,
        region: str,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:InstanceSchedule", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        role = aws.iam.Role(
            f"{name}-scheduler",
            # Only this account's schedules (they live in the default schedule group) may use the role.
            assume_role_policy=account.apply(
                lambda account_id: iam.assume_role_policy(
                    "scheduler.amazonaws.com",
                    source_account=account_id,
                    source_arn=iam.SCHEDULE_GROUP_ARN.format(region=region, account=account_id),
                )
            ),
            description="Starts and stops the llmscale GPU host on its schedule",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-start-stop",
            role=role.id,
            policy=pulumi.Output.from_input(instance_arn).apply(iam.start_stop_instance_policy),
            opts=child,
        )
        start, stop = eventbridge_expressions(schedule)
        payload = pulumi.Output.from_input(instance_id).apply(lambda i: json.dumps({"InstanceIds": [i]}))
        for action, expression, target in (("start", start, START_TARGET), ("stop", stop, STOP_TARGET)):
            aws.scheduler.Schedule(
                f"{name}-{action}",
                description=f"{action} the llmscale GPU host ({schedule.start}-{schedule.end} {schedule.timezone})",
                schedule_expression=expression,
                schedule_expression_timezone=schedule.timezone,
                flexible_time_window={"mode": "OFF"},
                target={
                    "arn": target,
                    "role_arn": role.arn,
                    "input": payload,
                    "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
                },
                opts=child,
            )
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn})
