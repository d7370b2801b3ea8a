"""Bring a failed instance back: reboot on a failed instance check, stop/start on a failed system check.

GPU instance types carry local NVMe instance storage, which rules out CloudWatch's `recover` action; a stop
and start (the AWS-RestartEC2Instance automation) moves the instance to healthy hardware instead, and the
model cache survives on the EBS root volume.

With a notification topic, both alarms also publish to it when they fire and when they clear, so a person
learns that the host was rebooted or moved (and whether that helped).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from llmscale.aws import iam

RESTART_AUTOMATION = "AWS-RestartEC2Instance"


class InstanceRecovery(pulumi.ComponentResource):
    """Status-check alarms on one instance and the automation that restarts it on a hardware failure.

    The restart role trusts EventBridge only for this component's rule in this account.

    `notify_topic_arn`: an SNS topic (in the alarms' region) the alarms publish to on ALARM and on OK.
    """

    system_alarm_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        instance_id: pulumi.Input[str],
        instance_arn: pulumi.Input[str],
        region: str,
        tags: dict[str, str],
        notify_topic_arn: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:InstanceRecovery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        dimensions = {"InstanceId": instance_id}
        notify = [notify_topic_arn] if notify_topic_arn else []
        aws.cloudwatch.MetricAlarm(
            f"{name}-instance-check",
            alarm_description="The GPU host failed its instance status check: reboot it",
            namespace="AWS/EC2",
            metric_name="StatusCheckFailed_Instance",
            dimensions=dimensions,
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            alarm_actions=[f"arn:aws:automate:{region}:ec2:reboot", *notify],
            ok_actions=notify,
            tags=tags,
            opts=child,
        )
        system = aws.cloudwatch.MetricAlarm(
            f"{name}-system-check",
            alarm_description="The GPU host failed its system status check: stop and start it on healthy hardware",
            namespace="AWS/EC2",
            metric_name="StatusCheckFailed_System",
            dimensions=dimensions,
            statistic="Maximum",
            period=60,
            evaluation_periods=2,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # The restart itself runs through EventBridge (below): the alarm only tells people.
            alarm_actions=notify,
            ok_actions=notify,
            tags=tags,
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-system-check",
            description="Restart the GPU host when its system status check alarm fires",
            event_pattern=system.arn.apply(
                lambda arn: json.dumps(
                    {
                        "source": ["aws.cloudwatch"],
                        "detail-type": ["CloudWatch Alarm State Change"],
                        "resources": [arn],
                        "detail": {"state": {"value": ["ALARM"]}},
                    }
                )
            ),
            tags=tags,
            opts=child,
        )
        automation_arn = f"arn:aws:ssm:{region}::automation-definition/{RESTART_AUTOMATION}:$DEFAULT"
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        role = aws.iam.Role(
            f"{name}-restart",
            # Only this rule may make EventBridge assume the role (aws:SourceArn is the rule sending the event:
            # EventBridge User Guide, "Using IAM policy conditions", condition keys).
            assume_role_policy=pulumi.Output.all(account, rule.arn).apply(
                lambda parts: iam.assume_role_policy(
                    "events.amazonaws.com", source_account=parts[0], source_arn=parts[1]
                )
            ),
            description="Runs AWS-RestartEC2Instance on the llmscale GPU host",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-restart",
            role=role.id,
            policy=pulumi.Output.from_input(instance_arn).apply(
                lambda arn: iam.restart_instance_automation_policy(
                    arn, f"arn:aws:ssm:{region}::automation-definition/{RESTART_AUTOMATION}:*"
                )
            ),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-restart",
            rule=rule.name,
            arn=automation_arn,
            role_arn=role.arn,
            input=pulumi.Output.from_input(instance_id).apply(lambda i: json.dumps({"InstanceId": [i]})),
            opts=child,
        )
        self.system_alarm_arn = system.arn
        self.register_outputs({"systemAlarmArn": self.system_alarm_arn})
