"""Pulumi mocks that record what a program registers, as a preview would see it.

Every resource's type, name, parent, provider, dependencies (per input property too) and inputs are recorded;
outputs the provider would compute (ids, ARNs, addresses) are left unknown instead of being made up, and so are
the results of data-source invokes, since only the cloud knows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.rpc import UNKNOWN

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"
UNKNOWN_TEXT = "(known after apply)"


@dataclass
class RecordedResource:
    """One resource registration as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    # Input property → URNs of the resources its value comes from: what a replacement of one of them makes
    # unknown (the node group's `subnetIds` ← the subnets).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    replace_on_changes: list[str] = field(default_factory=list)


@dataclass
class RecordedInvoke:
    """One data-source call (e.g. an AMI lookup) the program makes."""

    token: str
    args: dict[str, Any]


def is_secret(value: Any) -> bool:
    """True for a value the SDK marked secret (the wrapped form mocks receive)."""
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE


def is_unknown(value: Any) -> bool:
    """True for a value only known after apply."""
    return isinstance(value, Unknown) or value == UNKNOWN


def redact(value: Any) -> Any:
    """A copy fit for printing: secrets replaced by `[secret]`, unknowns by `(known after apply)`."""
    if is_secret(value):
        return REDACTED
    if is_unknown(value):
        return UNKNOWN_TEXT
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, pulumi.Resource):
        return "(resource reference)"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _known_state(value: Any) -> Any:
    """Inputs echoed back as outputs, minus unknowns (which must stay unknown on the way back)."""
    if isinstance(value, dict) and not is_secret(value):
        return {k: _known_state(v) for k, v in value.items() if not is_unknown(v)}
    if isinstance(value, list):
        return [_known_state(v) for v in value if not is_unknown(v)]
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that echo inputs as outputs and leave every computed value unknown."""

    def __init__(self) -> None:
        self.invokes: list[RecordedInvoke] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        """No id (unknown in preview) and the known inputs as outputs: what a provider would echo back."""
        return None, _known_state(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        """Record a data-source call; the monitor answers it as unknown."""
        self.invokes.append(RecordedInvoke(token=args.token, args=dict(args.args)))
        return {}


class RecordingMonitor(mocks.MockMonitor):
    """A mock resource monitor that also keeps each registration's parent, provider and dependencies."""

    def __init__(self, recording_mocks: RecordingMocks) -> None:
        super().__init__(recording_mocks)
        self.recorded: list[RecordedResource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        """Register as the mock monitor does, and keep what the plan reports about the resource."""
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response

        inputs = pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True)
        self.recorded.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                provider=request.provider or None,
                inputs=dict(inputs),
                dependencies=list(request.dependencies),
                protect=bool(request.protect),
                ignore_changes=list(request.ignoreChanges),
                property_dependencies={
                    key: sorted(set(value.urns))
                    for key, value in sorted(request.propertyDependencies.items())
                    if value.urns
                },
                replace_on_changes=list(request.replaceOnChanges),
            )
        )
        return response

    def Invoke(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        """Record the call, then answer as the engine does for a value it cannot know yet: unknown."""
        super().Invoke(request)
        return resource_pb2.ResourceInvokeResponse(unknown=True)
