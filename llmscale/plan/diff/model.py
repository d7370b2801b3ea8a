"""What a plan diff holds: actions, property changes, resource changes, the verdict, and what counts as critical."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmscale.plan.recorder import UNKNOWN_TEXT

AUTHORITATIVE_NOTE = (
    "Offline estimate from two llmscale plans; `pulumi preview` against the real stack is authoritative "
    "(replacements come from a table generated from the providers' source; secrets compare redacted, so a "
    "changed secret does not show)."
)
DIFF_FORMAT_VERSION = 1
REPLACE_TABLE = Path(__file__).resolve().parent.parent / "replacements" / "replace_on_change.json"

CREATE, DELETE, REPLACE, POSSIBLY_REPLACE, UPDATE, UNCHANGED = (
    "create",
    "delete",
    "replace",
    "possibly-replace",
    "update",
    "unchanged",
)
ACTIONS = (CREATE, DELETE, REPLACE, POSSIBLY_REPLACE, UPDATE, UNCHANGED)
RANK = {UNCHANGED: 0, UPDATE: 1, POSSIBLY_REPLACE: 2, REPLACE: 3}

Segment = str | int
PropertyPath = tuple[Segment, ...]


class PlanFileError(ValueError):
    """A file or document that is not a readable llmscale plan; the message names it and says why."""


# Updates in place that still interrupt service: worth a line in a review.
DISRUPTIVE_UPDATES: dict[tuple[str, str], str] = {
    ("aws:ec2/instance:Instance", "instanceType"): "updated by stopping and starting the instance: downtime",
}

# Resources whose loss a reviewer must not miss: they hold state, or traffic goes through them.
CRITICAL_TYPES: dict[str, str] = {
    "aws:eks/cluster:Cluster": "EKS cluster",
    "aws:eks/nodeGroup:NodeGroup": "node group",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:kms/key:Key": "KMS key",
    "aws:route53/record:Record": "DNS record",
    "aws:route53/healthCheck:HealthCheck": "DNS health check",
    "aws:ec2/instance:Instance": "EC2 instance",
    "aws:ec2/eip:Eip": "Elastic IP",
    "aws:ec2/natGateway:NatGateway": "NAT gateway",
    "aws:lb/loadBalancer:LoadBalancer": "load balancer",
    "aws:alb/loadBalancer:LoadBalancer": "load balancer",
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": "gateway",  # Envoy Gateway fronts each with a load balancer
    "kubernetes:core/v1:PersistentVolumeClaim": "volume",
    "kubernetes:core/v1:Namespace": "namespace",
    "kubernetes:apps/v1:Deployment": "Deployment",
    "kubernetes:apps/v1:StatefulSet": "StatefulSet",
    "kubernetes:helm.sh/v3:Release": "Helm release",
}


def critical_category(resource_type: str, inputs: dict[str, Any] | None = None) -> str | None:
    """What a resource is to a reviewer when it is destroyed or replaced (None: nothing critical)."""
    if resource_type == "kubernetes:core/v1:Service":
        spec = (inputs or {}).get("spec")
        return "load balancer" if isinstance(spec, dict) and spec.get("type") == "LoadBalancer" else None
    return CRITICAL_TYPES.get(resource_type)


@dataclass(frozen=True)
class PropertyChange:
    """One property that differs: `kind` is add, delete or update; `old`/`new` are redacted display values.

    `forces_replacement`: the change replaces the resource; with `possibly` (or when neither plan knows the value,
    `uncertain`) it may, under a condition the plans cannot settle.
    """

    path: str
    kind: str
    old: Any = None
    new: Any = None
    forces_replacement: bool = False
    note: str | None = None
    possibly: bool = False

    @property
    def uncertain(self) -> bool:
        """True for a value neither plan knows, listed because what it comes from is replaced."""
        return self.old == self.new == UNKNOWN_TEXT

    @property
    def maybe(self) -> bool:
        """True when the change may force replacement but the plans cannot tell for sure."""
        return self.forces_replacement and (self.possibly or self.uncertain)


@dataclass(frozen=True)
class ResourceRef:
    """A resource as the diff names it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool


@dataclass(frozen=True)
class ResourceChange:
    """A resource in both plans whose inputs (or provider) differ, and the reasons for its action."""

    resource: ResourceRef
    changes: tuple[PropertyChange, ...]
    reasons: tuple[str, ...] = ()

    @property
    def replaced(self) -> bool:
        """True when any change forces (or may force) a new resource."""
        return any(change.forces_replacement for change in self.changes)

    @property
    def replace_reasons(self) -> list[str]:
        """The paths of the changes that force replacement."""
        return [change.path for change in self.changes if change.forces_replacement]


@dataclass(frozen=True)
class ResourceAction:
    """Every resource of either plan with what `pulumi up` would do to it: one of ACTIONS, and why."""

    resource: ResourceRef
    action: str
    reasons: tuple[str, ...] = ()
    changes: tuple[PropertyChange, ...] = ()
    critical: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The line a reviewer reads first: `level` is none, in-place, possibly-destructive or destructive."""

    level: str
    text: str
    critical: tuple[ResourceAction, ...] = ()


@dataclass
class PlanDiff:
    """Everything that differs between two plan documents, old → new; build it with `diff_plans`."""

    old_stack: str
    new_stack: str
    old_source: str | None
    new_source: str | None
    added: list[ResourceRef] = field(default_factory=list)
    removed: list[ResourceRef] = field(default_factory=list)
    replaced: list[ResourceChange] = field(default_factory=list)
    possibly_replaced: list[ResourceChange] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    unchanged: int = 0
    resources: list[ResourceAction] = field(default_factory=list)
    ignored: list[tuple[ResourceRef, str]] = field(default_factory=list)
    settings: list[PropertyChange] = field(default_factory=list)
    outputs: list[PropertyChange] = field(default_factory=list)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    new_violations: list[dict[str, Any]] = field(default_factory=list)
    resolved_violations: list[dict[str, Any]] = field(default_factory=list)
    still_failing: list[dict[str, Any]] = field(default_factory=list)
    new_schema_errors: list[str] = field(default_factory=list)
    resolved_schema_errors: list[str] = field(default_factory=list)
    mandatory_after: int = 0
    schema_errors_after: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def has_resource_changes(self) -> bool:
        """True when `pulumi up` would create, delete, replace or update anything."""
        return bool(self.added or self.removed or self.replaced or self.possibly_replaced or self.changed)

    @property
    def has_changes(self) -> bool:
        """True when anything at all differs (resources, outputs, policy findings, schema errors, settings)."""
        return bool(
            self.has_resource_changes
            or self.outputs
            or self.settings
            or self.new_violations
            or self.resolved_violations
            or self.new_schema_errors
            or self.resolved_schema_errors
        )

    @property
    def stack_label(self) -> str:
        """The stack name, or `old → new` when the two plans are of different stacks."""
        return self.new_stack if self.old_stack == self.new_stack else f"{self.old_stack} → {self.new_stack}"

    def action_counts(self) -> dict[str, int]:
        """How many resources get each action (all of ACTIONS, zeros included)."""
        return {
            CREATE: len(self.added),
            DELETE: len(self.removed),
            REPLACE: len(self.replaced),
            POSSIBLY_REPLACE: len(self.possibly_replaced),
            UPDATE: len(self.changed),
            UNCHANGED: self.unchanged,
        }

    def summary_line(self) -> str:
        """`1 to create, 0 to delete, …, 25 unchanged`: the counts a preview ends with."""
        maybe = f"{len(self.possibly_replaced)} may be replaced, " if self.possibly_replaced else ""
        return (
            f"{len(self.added)} to create, {len(self.removed)} to delete, {len(self.replaced)} to replace, "
            f"{maybe}{len(self.changed)} to update, {self.unchanged} unchanged"
        )

    @property
    def verdict(self) -> Verdict:
        """Destroyed or replaced resources first, and which of them hold state or serve traffic."""
        return make_verdict(self)


def _names(actions: list[ResourceAction], limit: int = 3) -> str:
    shown = ", ".join(a.resource.name for a in actions[:limit])
    return shown + (f" +{len(actions) - limit} more" if len(actions) > limit else "")


def make_verdict(diff: PlanDiff) -> Verdict:
    """The verdict of a diff: how much is destroyed or replaced, naming what holds state or serves traffic."""
    critical = tuple(a for a in diff.resources if a.critical and a.action in (DELETE, REPLACE, POSSIBLY_REPLACE))
    destroyed, replaced, maybe = len(diff.removed), len(diff.replaced), len(diff.possibly_replaced)
    if not (destroyed or replaced or maybe):
        if not diff.has_resource_changes:
            return Verdict("none", "NO CHANGES: nothing is created, deleted, replaced or updated.")
        return Verdict(
            "in-place",
            f"NON-DESTRUCTIVE: {len(diff.added)} to create, {len(diff.changed)} to update in place; "
            "nothing is deleted or replaced.",
        )
    parts = [f"{replaced} to replace"] if replaced else []
    if maybe:
        parts.append(f"{maybe} may be replaced")
    if destroyed:
        parts.append(f"{destroyed} to delete")
    level = "destructive" if (destroyed or replaced) else "possibly-destructive"
    head = "DESTRUCTIVE" if level == "destructive" else "POSSIBLY DESTRUCTIVE"
    if not critical:
        return Verdict(level, f"{head}: {', '.join(parts)}; none of them holds state or serves traffic.")
    groups: dict[str, list[ResourceAction]] = {}
    for action in critical:
        groups.setdefault(str(action.critical), []).append(action)
    listed = "; ".join(
        f"{len(actions)} {category}{'s' if len(actions) > 1 else ''} ({_names(actions)})"
        for category, actions in groups.items()
    )
    holds = "holds state or serves" if len(critical) == 1 else "hold state or serve"
    return Verdict(
        level, f"{head}: {', '.join(parts)}, including {len(critical)} that {holds} traffic: {listed}.", critical
    )
