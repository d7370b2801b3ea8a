"""A small harness that runs AWS components under Pulumi's mock runtime, without a stack config.

It reuses the project's recorder (every registration with its inputs, parent, provider and dependencies) but,
unlike the offline plan, answers data-source invokes with canned values and gives resources plausible computed
outputs (ids, ARNs, bucket names), and runs in update mode so `apply` callbacks run and can fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import mocks

from llmscale.plan.mock_runtime import mock_runtime, resolve, run_to_completion
from llmscale.plan.recorder import RecordedInvoke, RecordedResource, RecordingMocks, RecordingMonitor
from tests.resource_types import CALLER_IDENTITY

PROJECT = "llmscale"
STACK = "t"
ACCOUNT = "123456789012"
DEFAULT_REGION = "eu-west-1"
CALLER = {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:role/deployer", "userId": "AROADEPLOYER", "id": ACCOUNT}

InvokeAnswer = Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]


def _service(type_: str) -> str:
    """`aws:s3/bucket:Bucket` -> `s3`."""
    return type_.split(":", 2)[1].split("/", 1)[0]


class AwsMocks(RecordingMocks):
    """Recording mocks with canned invoke answers and computed outputs shaped like AWS's."""

    def __init__(self, invokes: Mapping[str, InvokeAnswer] | None = None) -> None:
        super().__init__()
        # The deploying account, as `aws sts get-caller-identity` would answer; a test may answer otherwise.
        self.answers = {CALLER_IDENTITY: CALLER, **(invokes or {})}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        _, state = super().new_resource(args)
        name, type_ = args.name, args.typ
        region = state.get("region") or DEFAULT_REGION
        if type_.startswith("pulumi:providers:"):
            return f"{name}-id", state
        if type_ == "kubernetes:core/v1:Service":
            state["status"] = {"loadBalancer": {"ingress": [{"hostname": f"{name}.elb.{region}.amazonaws.com"}]}}
            return f"{name}-id", state
        if type_.startswith("kubernetes:"):
            return f"{name}-id", state
        state.setdefault("arn", f"arn:aws:{_service(type_)}:{region}:{ACCOUNT}:{name}")
        if type_ == "aws:s3/bucket:Bucket":
            bucket = state.get("bucket") or f"{state['bucketPrefix']}20250101000000000000000001"
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}")
            return bucket, state
        if type_ == "aws:kms/key:Key":
            state["arn"] = f"arn:aws:kms:{region}:{ACCOUNT}:key/{name}"
        elif type_ == "aws:iam/role:Role":
            state.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{name}", name=name)
        elif type_ == "aws:ec2/eip:Eip":
            state["allocationId"] = f"eipalloc-{name}"
        elif type_ == "aws:route53/record:Record":
            state["fqdn"] = state.get("name")
        elif type_ == "aws:eks/cluster:Cluster":
            state.update(endpoint=f"https://{name}.eks.amazonaws.com", certificateAuthority={"data": "Y2E="})
        elif type_ == "aws:acm/certificate:Certificate":
            option = {"resourceRecordName": "_v.x.", "resourceRecordType": "CNAME", "resourceRecordValue": "_v.acm."}
            state["domainValidationOptions"] = [option]
        return f"{name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        super().call(args)
        answer = self.answers.get(args.token, {})
        return dict(answer(dict(args.args)) if callable(answer) else answer)


class AwsMonitor(RecordingMonitor):
    """The recording monitor, but invokes return the mocks' answers instead of unknown."""

    def Invoke(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        return mocks.MockMonitor.Invoke(self, request)


@dataclass
class Run:
    """What a program registered, the invokes it made, and the values it returned (resolved)."""

    resources: list[RecordedResource]
    invokes: list[RecordedInvoke]
    values: dict[str, Any]

    def of_type(self, type_: str) -> list[RecordedResource]:
        """Resources of one type, in registration order."""
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        """The only resource of a type (and name), or a failed assertion listing what was found."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, got {[r.name for r in found]}"
        return found[0]

    def urn_of(self, name: str, type_: str | None = None) -> str:
        """The URN of a resource, by name (components included) and, where names are shared, type."""
        [urn] = [r.urn for r in self.resources if r.name == name and type_ in (None, r.type)]
        return urn


def run(
    program: Callable[[], Mapping[str, Any] | None],
    *,
    invokes: Mapping[str, InvokeAnswer] | None = None,
    offline_plan: bool = False,
) -> Run:
    """Run `program` under mocks; it may return a mapping of values (Outputs) to resolve for the test.

    By default in update mode, with invokes answered from `invokes`. With `offline_plan`, exactly as
    `llmscale plan` runs it: preview mode, every invoke result and computed output unknown.
    Exceptions raised by the program or inside its `apply` callbacks propagate.
    """
    recording = RecordingMocks() if offline_plan else AwsMocks(invokes)
    monitor = RecordingMonitor(recording) if offline_plan else AwsMonitor(recording)
    returned: dict[str, Any] = {}

    def wrapped() -> None:
        returned.update(program() or {})

    with mock_runtime(recording, monitor, project=PROJECT, stack=STACK, preview=offline_plan):
        run_to_completion(wrapped)
        values = {key: resolve(value) for key, value in returned.items()}
    return Run(resources=monitor.recorded, invokes=recording.invokes, values=values)


def policy_statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of an IAM or bucket policy document (JSON text or parsed)."""
    parsed = json.loads(document) if isinstance(document, str) else document
    statement = parsed["Statement"]
    return statement if isinstance(statement, list) else [statement]


def as_list(value: Any) -> list[Any]:
    """IAM allows one value or a list wherever a list is allowed."""
    return value if isinstance(value, list) else [value]


def allows_everything(document: str | dict[str, Any]) -> bool:
    """Whether any Allow statement grants `*` (or a whole service) on `*`."""
    for statement in policy_statements(document):
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action", []))
        resources = as_list(statement.get("Resource", []))
        if any(a == "*" or a.endswith(":*") for a in actions) and "*" in resources:
            return True
    return False
