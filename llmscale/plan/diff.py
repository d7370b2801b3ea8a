"""What changes between two offline plans: resources created, deleted, replaced and updated, and why.

`llmscale plan STACK --json` on the base branch and on a pull request give two documents; `diff_plans` compares
them the way the Pulumi engine would compare the program with the stack's state, as far as a plan can tell:

- Resources are matched by URN (type chain and name). A URN only in the new plan is created, only in the old one
  deleted.
- Inputs are compared property by property. A changed property is named by its path (`spec.template.metadata.
  labels["app.kubernetes.io/name"]`, `args[3]`). Changes under a resource's `ignoreChanges` are set aside, as
  Pulumi would.
- Whether a change replaces the resource comes from `replacements/replace_on_change.json`, generated from the
  providers' source (terraform-provider-aws `ForceNew`, pulumi-kubernetes' `forceNew` table; see its
  SOURCES.md), plus the program's own `replaceOnChanges`. Rules upstream applies only under a condition the
  plans cannot evaluate make the resource "possibly replaced".
- Providers: when a provider's replace-forcing config changes (the stack's `aws:region`, an explicit provider's
  `region`, a Kubernetes provider's kubeconfig or context), the engine replaces the provider and every resource
  it manages (pulumi/pulumi pkg/resource/deploy/step_generator.go, `providerChanged`); so does a resource moved
  to a provider whose config differs that way.
- Cascades: a replaced resource's outputs are unknown until it exists again, so every input that reads one
  (the plan records, per input, the resources it comes from) changes too: the dependant is "possibly replaced"
  when that input forces replacement and updated otherwise, and the diff names the chain
  (`subnetIds ← …-private-0 ← …-vpc (replace: cidrBlock)`). An update in place keeps a resource's id but may
  renew outputs its provider computes anew on change (an EC2 launch template's `latestVersion`: every update is a
  new template version); inputs that read a resource whose update renews one change too, in place.

Both plans are redacted already (secrets `[secret]`, computed values `(known after apply)`): secrets compare
equal, so a changed secret does not show, and a property that is a secret on either side shows as `[secret]`
on both, so the diff never prints what a secret was or became.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmscale.plan.recorder import REDACTED, SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_TEXT
from llmscale.plan.report import PLAN_FORMAT_VERSION

AUTHORITATIVE_NOTE = (
    "Offline estimate from two llmscale plans; `pulumi preview` against the real stack is authoritative "
    "(replacements come from a table generated from the providers' source; secrets compare redacted, so a "
    "changed secret does not show)."
)
DIFF_FORMAT_VERSION = 1
REPLACE_TABLE = Path(__file__).resolve().parent / "replacements" / "replace_on_change.json"

CREATE, DELETE, REPLACE, POSSIBLY_REPLACE, UPDATE, UNCHANGED = (
    "create",
    "delete",
    "replace",
    "possibly-replace",
    "update",
    "unchanged",
)
ACTIONS = (CREATE, DELETE, REPLACE, POSSIBLY_REPLACE, UPDATE, UNCHANGED)
_RANK = {UNCHANGED: 0, UPDATE: 1, POSSIBLY_REPLACE: 2, REPLACE: 3}

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


# --- the replace table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplaceRule:
    """A property whose change replaces the resource instead of updating it in place.

    `path` is a property path (`*` any list element); `when` holds alternatives the diff evaluates (any one makes
    the rule apply); a `condition` without `when` is one the plans cannot evaluate. `unknown_replaces`: an unknown
    value replaces too (a Kubernetes provider's kubeconfig). `origin` says where the rule comes from.
    """

    path: PropertyPath
    condition: str | None = None
    when: tuple[dict[str, Any], ...] = ()
    unknown_replaces: bool = False
    origin: str = "provider"


@dataclass(frozen=True)
class RecomputedOutput:
    """An output the provider computes anew when the resource changes (terraform-provider-aws CustomizeDiff
    `customdiff.ComputedIf`): unknown in a preview of the update, so whatever reads it changes too.

    A change to any top-level input outside `unless_only` renews it, when one of `when` holds (if any); with
    `unless_only` None (a rule the generator could not read, `condition` says which) any change may.
    """

    output: str
    unless_only: frozenset[str] | None = None
    when: tuple[dict[str, Any], ...] = ()
    condition: str | None = None


@dataclass(frozen=True)
class TypeRules:
    """The replace rules of one resource type, the inputs no rule is known for, and the outputs an update renews."""

    rules: tuple[ReplaceRule, ...] = ()
    unverified: tuple[PropertyPath, ...] = ()
    known: bool = True
    recomputed: tuple[RecomputedOutput, ...] = ()


def _rule(entry: dict[str, Any], origin: str) -> ReplaceRule:
    return ReplaceRule(
        path=parse_path(entry["path"]),
        condition=entry.get("condition"),
        when=tuple(entry.get("when") or ()),
        unknown_replaces=bool(entry.get("unknownReplaces")),
        origin=origin,
    )


@functools.cache
def replace_table() -> dict[str, TypeRules]:
    """Pulumi type → its replace rules, from the vendored table (see replacements/SOURCES.md)."""
    document = json.loads(REPLACE_TABLE.read_text(encoding="utf-8"))
    table: dict[str, TypeRules] = {}
    for kind, entry in document["types"].items():
        origin = entry["source"]["repository"]
        table[kind] = TypeRules(
            rules=tuple(_rule(rule, origin) for rule in entry["replaceOnChanges"]),
            unverified=tuple(parse_path(path) for path in entry.get("unverified", ())),
            recomputed=tuple(
                RecomputedOutput(
                    output=output["output"],
                    unless_only=frozenset(output["unlessOnly"]) if "unlessOnly" in output else None,
                    when=tuple(output.get("when") or ()),
                    condition=output.get("condition"),
                )
                for output in entry.get("recomputedOutputs", ())
            ),
        )
    return table


# pulumi-kubernetes replaces any object whose name or namespace changes, custom resources included
# (provider/pkg/provider/provider.go, `Diff`: ".metadata.name", ".metadata.namespace").
_KUBERNETES_IDENTITY = (
    ReplaceRule(("metadata", "name"), origin="pulumi/pulumi-kubernetes"),
    ReplaceRule(("metadata", "namespace"), origin="pulumi/pulumi-kubernetes"),
)


def rules_for(resource: dict[str, Any]) -> TypeRules:
    """The replace rules for a plan resource: its type's, plus the program's own `replaceOnChanges`."""
    kind = resource["type"]
    rules = replace_table().get(kind)
    if rules is None:
        identity = _KUBERNETES_IDENTITY if kind.startswith("kubernetes:") else ()
        rules = TypeRules(rules=identity, known=not resource.get("custom", True) or kind.startswith("pulumi:"))
    own = [p for p in resource.get("replaceOnChanges") or [] if isinstance(p, str)]
    if own:
        extra = tuple(ReplaceRule(("*",) if p == "*" else parse_path(p), origin="replaceOnChanges") for p in own)
        rules = dataclasses.replace(rules, rules=rules.rules + extra)
    return rules


# --- what the diff holds ---------------------------------------------------------------------------------


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


# --- property paths --------------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_$@:/-]+$")
_PATH_TOKEN = re.compile(r'\.?([^.\[\]"]+)|\[(\d+|\*|"(?:[^"\\]|\\.)*")\]')


def format_path(path: PropertyPath) -> str:
    """Pulumi's property path syntax: `a.b[0].c`, with `["key.with.dots"]` for keys that need quoting."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _PLAIN_KEY.match(segment) and not segment.isdigit():
            text += f".{segment}" if text else segment
        else:
            text += f"[{json.dumps(segment)}]"
    return text


def parse_path(text: str) -> PropertyPath:
    """The segments of a property path as written in `ignoreChanges` (`spec.replicas`, `tags["Name"]`, `a[*]`)."""
    segments: list[Segment] = []
    position = 0
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if match is None or match.end() == position:
            return (*segments, text[position:])  # unparseable tail: kept whole, matches nothing but itself
        key, bracket = match.groups()
        if key is not None:
            segments.append(key)
        elif bracket == "*":
            segments.append("*")
        elif bracket.startswith('"'):
            segments.append(json.loads(bracket))
        else:
            segments.append(int(bracket))
        position = match.end()
    return tuple(segments)


def _starts_with(path: PropertyPath, prefix: PropertyPath) -> bool:
    if len(prefix) > len(path):
        return False
    return all(p == "*" or p == s for p, s in zip(prefix, path, strict=False))


# --- values ----------------------------------------------------------------------------------------------


def _is_secret(value: Any) -> bool:
    return value == REDACTED or (isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE)


def _normalize(value: Any) -> Any:
    """Secrets in any form as `[secret]` (a document written by hand might hold the SDK's wrapped form)."""
    if _is_secret(value):
        return REDACTED
    if isinstance(value, dict):
        return {key: _normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalize(item) for item in value]
    return value


def _holds_secret(value: Any) -> bool:
    if _is_secret(value):
        return True
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _equal(old: Any, new: Any) -> bool:
    """JSON equality: like ==, except that true is not 1 and false is not 0."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_equal(old[key], new[key]) for key in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_equal(a, b) for a, b in zip(old, new, strict=True))
    return bool(old == new)


def _diff_values(old: Any, new: Any, path: PropertyPath, out: list[tuple[PropertyPath, str, Any, Any]]) -> None:
    """Append (path, kind, old, new) for every leaf that differs; values are normalized already."""
    if _equal(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in new:
                out.append(((*path, key), "delete", old[key], None))
            elif key not in old:
                out.append(((*path, key), "add", None, new[key]))
            else:
                _diff_values(old[key], new[key], (*path, key), out)
        return
    if isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            if index >= len(new):
                out.append(((*path, index), "delete", old[index], None))
            elif index >= len(old):
                out.append(((*path, index), "add", None, new[index]))
            else:
                _diff_values(old[index], new[index], (*path, index), out)
        return
    if _is_secret(old) or _is_secret(new):
        old, new = REDACTED, REDACTED
    elif (_holds_secret(old) or _holds_secret(new)) and not (isinstance(old, str) and isinstance(new, str)):
        old, new = REDACTED, REDACTED  # a structure holding a secret replaced by something else: show neither
    out.append((path, "update", old, new))


def diff_values(old: Any, new: Any) -> list[PropertyChange]:
    """The property changes between two JSON-like values (plan inputs or outputs), secrets redacted."""
    raw: list[tuple[PropertyPath, str, Any, Any]] = []
    _diff_values(_normalize(old), _normalize(new), (), raw)
    return [PropertyChange(path=format_path(path), kind=kind, old=o, new=n) for path, kind, o, n in raw]


def _overlaps(path: PropertyPath, rule: PropertyPath) -> bool:
    """Whether two paths agree on their common prefix (`*` matches any segment)."""
    return all(a == b or "*" in (a, b) for a, b in zip(path, rule, strict=False))


def _holds(value: Any, path: PropertyPath) -> bool:
    """Whether `value` has something at `path` (`*`: any element or key)."""
    if not path:
        return value is not None
    head, rest = path[0], path[1:]
    if head == "*":
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
        return any(_holds(item, rest) for item in items)
    if isinstance(value, dict) and isinstance(head, str) and head in value:
        return _holds(value[head], rest)
    if isinstance(value, list) and isinstance(head, int) and 0 <= head < len(value):
        return _holds(value[head], rest)
    return value in (UNKNOWN_TEXT, REDACTED)  # an opaque value may hold anything


# --- documents -------------------------------------------------------------------------------------------


def validate_plan(document: Any, label: str) -> dict[str, Any]:
    """Check that `document` is an llmscale plan this version can read; raise PlanFileError naming `label`."""
    if not isinstance(document, dict):
        raise PlanFileError(f"{label}: not an llmscale plan (expected a JSON object from `llmscale plan --json`)")
    if "formatVersion" not in document:
        raise PlanFileError(f"{label}: not an llmscale plan (no formatVersion; write it with `llmscale plan --json`)")
    version = document["formatVersion"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PlanFileError(f"{label}: formatVersion must be a positive integer")
    if version > PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{label}: plan format {version} is newer than this llmscale reads ({PLAN_FORMAT_VERSION}); "
            "upgrade llmscale"
        )
    resources = document.get("resources")
    if not isinstance(resources, list):
        raise PlanFileError(f"{label}: `resources` must be a list")
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict) or not all(isinstance(resource.get(k), str) for k in ("urn", "type", "name")):
            raise PlanFileError(f"{label}: resources[{index}] must have string urn, type and name")
        if not isinstance(resource.get("inputs", {}), dict):
            raise PlanFileError(f"{label}: resources[{index}].inputs must be an object")
        dependencies = resource.get("propertyDependencies", {})
        if not isinstance(dependencies, dict) or not all(isinstance(v, list) for v in dependencies.values()):
            raise PlanFileError(f"{label}: resources[{index}].propertyDependencies must map inputs to URN lists")
    for key, kind in (
        ("outputs", dict),
        ("counts", dict),
        ("violations", list),
        ("schemaErrors", list),
        ("providerConfig", dict),
    ):
        if key in document and not isinstance(document[key], kind):
            raise PlanFileError(f"{label}: `{key}` must be {'an object' if kind is dict else 'a list'}")
    return document


def load_plan(path: str | Path) -> dict[str, Any]:
    """Read and validate a plan file written by `llmscale plan --json`; raise PlanFileError with a clear reason."""
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise PlanFileError(f"{label}: is a directory, not a plan file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PlanFileError(f"{label}: cannot be read ({error.__class__.__name__})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanFileError(
            f"{label}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    return validate_plan(document, label)


def _ref(resource: dict[str, Any]) -> ResourceRef:
    return ResourceRef(
        urn=resource["urn"],
        type=resource["type"],
        name=resource["name"],
        parent=resource.get("parent"),
        custom=bool(resource.get("custom", True)),
    )


# --- providers -------------------------------------------------------------------------------------------


def _package(resource_type: str) -> str:
    return resource_type.split(":", 1)[0]


class _Providers:
    """Which provider manages each resource of a plan, and that provider's config."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.by_urn = {r["urn"]: r for r in document["resources"] if r["type"].startswith("pulumi:providers:")}
        self.by_name = {r["name"]: r["urn"] for r in self.by_urn.values()}

    def key(self, resource: dict[str, Any]) -> str | None:
        """The provider's URN, `default:<package>` for the default provider, None for components and providers."""
        if not resource.get("custom", True) or resource["type"].startswith(("pulumi:", "llmscale:")):
            return None
        if resource.get("providerUrn"):
            return str(resource["providerUrn"])
        if resource.get("provider"):
            return self.by_name.get(resource["provider"], f"name:{resource['provider']}")
        return f"default:{_package(resource['type'])}"

    def config(self, key: str) -> dict[str, Any] | None:
        """The provider's config (None when the plan does not have it)."""
        if key.startswith("default:"):
            package = key.removeprefix("default:")
            configured = self.document.get("providerConfig")
            if isinstance(configured, dict):
                return dict(configured.get(package) or {})
            if package == "aws" and self.document.get("region"):  # plans written before providerConfig
                return {"region": self.document["region"]}
            return None
        provider = self.by_urn.get(key)
        return dict(provider.get("inputs") or {}) if provider else None

    def label(self, key: str) -> str:
        """How the text names a provider: `default aws provider` or the provider resource's name."""
        if key.startswith("default:"):
            return f"the default {key.removeprefix('default:')} provider"
        provider = self.by_urn.get(key)
        return f"provider {provider['name'] if provider else key.removeprefix('name:')}"

    def provider_type(self, key: str, resource_type: str) -> str:
        provider = self.by_urn.get(key)
        return provider["type"] if provider else f"pulumi:providers:{_package(resource_type)}"


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _config_replaces(provider_type: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The provider config keys whose change replaces the provider (and so what it manages)."""
    rules = replace_table().get(provider_type, TypeRules()).rules
    keys = []
    for rule in rules:
        key = str(rule.path[0])
        if _text(old.get(key, "")) != _text(new.get(key, "")) and UNKNOWN_TEXT not in (old.get(key), new.get(key)):
            keys.append(key)
    return keys


# --- replace rules applied -------------------------------------------------------------------------------


def _condition_holds(
    alternative: dict[str, Any], inputs: dict[str, Any], config: dict[str, Any] | None, old: Any, new: Any
) -> bool | None:
    """One `when` alternative: True, False, or None when the plans cannot tell."""
    if "input" in alternative:
        value = inputs.get(alternative["input"])
        if value == UNKNOWN_TEXT:
            return None
        return _equal(value, alternative.get("equals"))
    if "providerConfig" in alternative:
        if config is None:
            return None
        value = config.get(alternative["providerConfig"])
        if value == UNKNOWN_TEXT:
            return None
        return _text(value) != _text(alternative.get("notEquals")) if value is not None else True
    if "old" in alternative or "new" in alternative:
        if UNKNOWN_TEXT in (old, new):
            return None
        return _equal(old, alternative.get("old")) and _equal(new, alternative.get("new"))
    return None


def _rule_result(
    rule: ReplaceRule, inputs: dict[str, Any], config: dict[str, Any] | None, old: Any, new: Any
) -> bool | None:
    """Whether a matching rule replaces: True, False, or None (it may, under a condition the plans cannot settle)."""
    if rule.when:
        results = [_condition_holds(alternative, inputs, config, old, new) for alternative in rule.when]
        if any(result is True for result in results):
            return True
        return None if any(result is None for result in results) else False
    return None if rule.condition else True


def _forcing(
    rules: TypeRules,
    path: PropertyPath,
    inputs: dict[str, Any],
    config: dict[str, Any] | None,
    old: Any = None,
    new: Any = None,
) -> tuple[bool | None, str | None]:
    """Whether a change at `path` (old → new) replaces the resource, and a note when it may or cannot tell."""

    def touches(rule_path: PropertyPath) -> bool:
        """The change is at or below `rule_path`, or replaces an object that holds something there."""
        if not _overlaps(path, rule_path):
            return False
        rest = rule_path[len(path) :]
        return not rest or _holds(old, rest) or _holds(new, rest)

    maybe_note: str | None = None
    for rule in rules.rules:
        if not touches(rule.path):
            continue
        result = _rule_result(rule, inputs, config, old, new)
        if result is True:
            return True, None
        if result is None:
            maybe_note = f"replaced only under a condition: {rule.condition or 'one the plans cannot settle'}"
    if maybe_note:
        return None, maybe_note
    if any(touches(unverified) for unverified in rules.unverified):
        return None, "no replace rule known for this input (newer than the provider source the table was read from)"
    return False, None


def _resource_changes(
    old: dict[str, Any], new: dict[str, Any], config: dict[str, Any] | None
) -> tuple[list[PropertyChange], list[str]]:
    """The resource's property changes (replacement marked) and the paths set aside by ignoreChanges."""
    kind = new["type"]
    old_inputs, new_inputs = _normalize(old.get("inputs") or {}), _normalize(new.get("inputs") or {})
    raw: list[tuple[PropertyPath, str, Any, Any]] = []
    _diff_values(old_inputs, new_inputs, (), raw)
    ignore = [parse_path(p) for p in new.get("ignoreChanges") or [] if isinstance(p, str)]
    rules = rules_for(new)
    custom = bool(new.get("custom", True))
    changes: list[PropertyChange] = []
    ignored: list[str] = []
    for path, change_kind, old_value, new_value in raw:
        if any(_starts_with(path, prefix) for prefix in ignore):
            ignored.append(format_path(path))
            continue
        forces, note = _forcing(rules, path, new_inputs, config, old_value, new_value) if custom else (False, None)
        changes.append(
            PropertyChange(
                path=format_path(path),
                kind=change_kind,
                old=old_value,
                new=new_value,
                forces_replacement=forces is not False,
                note=note or DISRUPTIVE_UPDATES.get((kind, format_path(path))),
                possibly=forces is None,
            )
        )
    return changes, ignored


def _violation_key(violation: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(violation.get("policy")),
        str(violation.get("enforcement")),
        str(violation.get("resource")),
        str(violation.get("message")),
    )


def _multiset_minus(items: list[Any], other: list[Any], key: Any) -> list[Any]:
    """Items of `items` not matched one-for-one in `other`, in order."""
    remaining = Counter(key(item) for item in other)
    left = []
    for item in items:
        k = key(item)
        if remaining[k]:
            remaining[k] -= 1
        else:
            left.append(item)
    return left


def policy_changes(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Violations keyed by (policy, resource): (new, resolved, still failing).

    A rule that fails on the same resource in both plans is still failing, whatever its message or enforcement
    says now (messages carry figures that change with the config); the old message and enforcement are kept
    beside the new ones when they differ. Exact matches pair first, so duplicates pair up predictably.
    """

    def rule_key(violation: dict[str, Any]) -> tuple[str, str]:
        return str(violation.get("policy")), str(violation.get("resource"))

    unmatched_old = list(old)
    still: list[dict[str, Any]] = []
    appeared: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for violation in new:  # exact matches first
        twin = next((o for o in unmatched_old if _violation_key(o) == _violation_key(violation)), None)
        if twin is not None:
            unmatched_old.remove(twin)
            still.append(dict(violation))
        else:
            pending.append(violation)
    for violation in pending:
        twin = next((o for o in unmatched_old if rule_key(o) == rule_key(violation)), None)
        if twin is None:
            appeared.append(violation)
            continue
        unmatched_old.remove(twin)
        entry = dict(violation)
        for key, label in (("message", "previousMessage"), ("enforcement", "previousEnforcement")):
            if twin.get(key) != violation.get(key):
                entry[label] = twin.get(key)
        still.append(entry)
    return appeared, unmatched_old, still


_MISSING = object()


def _value_at(value: Any, path: PropertyPath) -> Any:
    for segment in path:
        if isinstance(value, list) and isinstance(segment, int) and 0 <= segment < len(value):
            value = value[segment]
            continue
        if not (isinstance(value, dict) and isinstance(segment, str) and segment in value):
            return _MISSING
        value = value[segment]
    return value


def _holds_unknown(value: Any) -> bool:
    if value == UNKNOWN_TEXT:
        return True
    if isinstance(value, dict):
        return any(_holds_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_unknown(v) for v in value)
    return False


# --- the actions -----------------------------------------------------------------------------------------


@dataclass
class _State:
    """What the diff has decided about one resource of the new plan so far.

    `links` are what it follows: (input or `(provider)`, the replaced resource it reads, the level that gives);
    `via` the first of them, for the chains printed once everything is settled.
    """

    resource: dict[str, Any]
    action: str
    changes: list[PropertyChange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)
    via: str | None = None
    via_rank: int = -1

    def raise_to(self, action: str) -> None:
        if _RANK[action] > _RANK[self.action]:
            self.action = action

    def follows(self, label: str) -> bool:
        return any(link[0] == label for link in self.links)


def _direct_action(changes: list[PropertyChange]) -> str:
    if any(c.forces_replacement and not c.maybe for c in changes):
        return REPLACE
    if any(c.forces_replacement for c in changes):
        return POSSIBLY_REPLACE
    return UPDATE if changes else UNCHANGED


def _short(state: _State) -> str:
    """`replace: cidrBlock` — a resource's action and what forces it (for an update, what changes), for chains."""
    forcing = [c.path for c in state.changes if c.forces_replacement]
    forcing += [label for label, _, level in state.links if level in (REPLACE, POSSIBLY_REPLACE)]
    if not forcing and state.action == UPDATE:
        forcing = [c.path for c in state.changes] + [label for label, _, _ in state.links]
    forcing = list(dict.fromkeys(forcing))
    shown = ", ".join(forcing[:3]) + (", …" if len(forcing) > 3 else "")
    return f"{state.action}: {shown}" if shown else state.action


def _display_name(states: dict[str, _State], urn: str) -> str:
    """The resource's name, with its type when another resource of the plan has the same name."""
    resource = states[urn].resource
    twins = sum(1 for state in states.values() if state.resource["name"] == resource["name"])
    return resource["name"] if twins == 1 else f"{resource['name']} [{resource['type'].rsplit(':', 1)[-1]}]"


def _chain(states: dict[str, _State], urn: str) -> str:
    """`b ← c (replace: cidrBlock)`: the resources a change comes through, ending with the first cause."""
    names: list[str] = []
    seen: set[str] = set()
    current: str | None = urn
    last = urn
    while current and current in states and current not in seen and len(names) < 8:
        seen.add(current)
        names.append(_display_name(states, current))
        last = current
        current = states[current].via
    return f"{' ← '.join(names)} ({_short(states[last])})"


def _unknown_paths(value: Any, path: PropertyPath) -> list[PropertyPath]:
    """The paths under `path` whose value is known only after apply."""
    if value == UNKNOWN_TEXT:
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _unknown_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _unknown_paths(item, (*path, index))]
    return []


def _renewed_outputs(state: _State) -> list[str]:
    """The outputs an in-place update of `state` computes anew (its type's RecomputedOutput rules): what reads
    them changes too. Empty unless the resource is updated."""
    recomputed = rules_for(state.resource).recomputed
    if state.action != UPDATE or not recomputed:
        return []
    changed = {str(parse_path(c.path)[0]) for c in state.changes if not c.path.startswith("(")}
    changed |= {label for label, _, _ in state.links if not label.startswith("(")}
    inputs = _normalize(state.resource.get("inputs") or {})
    renewed = []
    for output in recomputed:
        if output.unless_only is not None and changed <= output.unless_only:
            continue
        if output.when and all(_condition_holds(w, inputs, None, None, None) is False for w in output.when):
            continue
        renewed.append(output.output)
    return renewed


def _link(state: _State, label: str, source: str, level: str) -> None:
    """Record that `state` follows `source` through `label`; the strongest link is the one chains go through."""
    state.links.append((label, source, level))
    state.raise_to(level)
    if _RANK[level] > state.via_rank:
        state.via, state.via_rank = source, _RANK[level]


def _follow_inputs(states: dict[str, _State], state: _State, providers: _Providers, renewals: bool = False) -> bool:
    """Inputs of `state` that read a replaced resource: possibly replaced if one forces replacement, else updated.

    Only the parts of the input known after apply change: a replaced subnet changes the ids in `subnetIds`, not a
    Deployment's selector that happens to sit in the same `spec` as an unknown image. With `renewals`, inputs
    that read a resource whose update renews an output change as well: in place, since the resource keeps its id,
    unless every unknown part of the input forces replacement (then it may be the renewed output that is read
    there): a node group reading a launch template's id and new `latestVersion` is updated, not replaced.
    """
    resource = state.resource
    inputs = _normalize(resource.get("inputs") or {})
    ignore = [parse_path(p) for p in resource.get("ignoreChanges") or [] if isinstance(p, str)]
    rules = rules_for(resource)
    key = providers.key(resource)
    config = providers.config(key) if key else None
    progress = False
    for prop, urns in sorted((resource.get("propertyDependencies") or {}).items()):
        if state.follows(prop) or any(re.match(rf"{re.escape(prop)}($|[.\[])", c.path) for c in state.changes):
            continue
        sources = sorted(
            (u for u in urns if u in states and states[u].action in (REPLACE, POSSIBLY_REPLACE)),
            key=lambda u: (-_RANK[states[u].action], states[u].resource["name"]),
        )
        unknown = [
            path
            for path in _unknown_paths(_value_at(inputs, (prop,)), (prop,))
            if not any(_starts_with(path, prefix) for prefix in ignore)
        ]
        if not sources and renewals and unknown and state.action != REPLACE:
            renewing = sorted(
                (u for u in urns if u in states and _renewed_outputs(states[u])),
                key=lambda u: states[u].resource["name"],
            )
            if renewing:
                forced = [_forcing(rules, path, inputs, config, UNKNOWN_TEXT, UNKNOWN_TEXT)[0] for path in unknown]
                _link(state, prop, renewing[0], POSSIBLY_REPLACE if False not in forced else UPDATE)
                progress = True
            continue
        if not sources or not unknown:
            continue
        certain_source = states[sources[0]].action == REPLACE
        level = UPDATE
        for path in unknown:
            if any(r.unknown_replaces and _overlaps(path, r.path) for r in rules.rules):
                level = REPLACE if certain_source else POSSIBLY_REPLACE
                break
            forces, _ = _forcing(rules, path, inputs, config, UNKNOWN_TEXT, UNKNOWN_TEXT)
            if forces is not False:
                level = POSSIBLY_REPLACE
        if state.action == REPLACE and level != REPLACE:
            # Replaced anyway. The link still shows in its dependants' chains (node group ← subnet ← VPC), unless
            # the resource's provider is what replaces it: that is the first cause.
            provider_moved = any(c.path.startswith("(provider)") and c.forces_replacement for c in state.changes)
            if level != UPDATE and not provider_moved and state.via is None:
                state.via, state.via_rank = sources[0], _RANK[level]
            continue
        _link(state, prop, sources[0], level)
        progress = True
    return progress


def _cascade(states: dict[str, _State], providers: _Providers) -> None:
    """Spread replacements until nothing changes: inputs that read a replaced resource, and resources whose
    provider is replaced (pulumi/pulumi step_generator.go `providerChanged`: a replaced provider replaces them).
    Then the same with outputs renewed by updates in place, once every replacement is known (a resource found
    replaced later would have renewed nothing)."""
    for renewals in (False, True):
        progress = True
        while progress:
            progress = False
            for state in states.values():
                resource = state.resource
                if state.action in (CREATE, DELETE) or not resource.get("custom", True):
                    continue
                key = providers.key(resource)
                provider = states.get(key) if key else None
                replaced = provider is not None and provider.action in (REPLACE, POSSIBLY_REPLACE)
                if replaced and key and not state.follows("(provider)"):
                    _link(state, "(provider)", key, provider.action)  # first: the provider is the first cause
                    progress = True
                progress |= _follow_inputs(states, state, providers, renewals)


def _settle(states: dict[str, _State], providers: _Providers) -> None:
    """Turn each state's links into property changes and reasons, now that every chain is known."""
    for state in states.values():
        in_place = [c for c in state.changes if not c.forces_replacement]
        # What forces (or may force) replacement first: that is why the resource is listed where it is.
        ordered = sorted(state.links, key=lambda link: link[2] not in (REPLACE, POSSIBLY_REPLACE))
        for label, source, level in ordered:
            chain = _chain(states, source)
            forces = level in (REPLACE, POSSIBLY_REPLACE)
            if label == "(provider)":
                name = states[source].resource["name"]
                note = f"{providers.label(source)} is replaced: {chain}"
                state.changes.append(
                    PropertyChange(label, "update", name, name, forces, note, possibly=level == POSSIBLY_REPLACE)
                )
                state.reasons.append(f"(provider) ← {chain}")
                continue
            note = f"known after apply; reads {chain}"
            renewed = _renewed_outputs(states[source])
            if renewed:
                note += f"; the update gives {_display_name(states, source)} a new {', '.join(renewed)}"
            state.changes.append(
                PropertyChange(label, "update", UNKNOWN_TEXT, UNKNOWN_TEXT, forces, note, possibly=level != REPLACE)
            )
            state.reasons.append(f"{label} ← {chain}")
        if in_place and state.action != UNCHANGED:
            paths = ", ".join(dict.fromkeys(c.path for c in in_place))
            state.reasons.append(f"{'updated in place' if state.action == UPDATE else 'also changes'}: {paths}")
            state.reasons += [f"{c.path}: {c.note}" for c in in_place if c.note and c.kind == "update"]


def _provider_changes(
    old: dict[str, Any], new: dict[str, Any], old_providers: _Providers, new_providers: _Providers
) -> tuple[list[PropertyChange], list[str]]:
    """How a resource's provider changed: the default provider's config, or a move to another provider."""
    old_key, new_key = old_providers.key(old), new_providers.key(new)
    if old_key is None or new_key is None:
        return [], []
    old_config, new_config = old_providers.config(old_key), new_providers.config(new_key)
    provider_type = new_providers.provider_type(new_key, new["type"])
    if old_key == new_key and not new_key.startswith("default:"):
        return [], []  # an explicit provider: its own diff (and the cascade) decides
    label = new_providers.label(new_key)
    if old_key == new_key:
        if old_config is None or new_config is None:
            return [], []
        keys = _config_replaces(provider_type, old_config, new_config)
        changes = [
            PropertyChange(
                f"(provider).{key}",
                "update",
                old_config.get(key),
                new_config.get(key),
                True,
                f"{label} is replaced, and with it every resource it manages",
            )
            for key in keys
        ]
        return changes, [f"{label} is replaced: {key} {old_config.get(key)} → {new_config.get(key)}" for key in keys]
    old_name = old.get("provider") or old_providers.label(old_key)
    new_name = new.get("provider") or label
    if old_config is None or new_config is None:
        note = f"moved to {label}, whose config the plans do not hold: replaced if it points elsewhere"
        return [PropertyChange("(provider)", "update", old_name, new_name, True, note, possibly=True)], [note]
    keys = _config_replaces(provider_type, old_config, new_config)
    if keys:
        note = f"moved to {label}, whose {', '.join(keys)} differs: replaced"
        return [PropertyChange("(provider)", "update", old_name, new_name, True, note)], [note]
    note = f"moved to {label}, whose config forces no replacement"
    return [PropertyChange("(provider)", "update", old_name, new_name, False, note)], []


def diff_plans(old: dict[str, Any], new: dict[str, Any]) -> PlanDiff:
    """Compare two plan documents (old → new) as the engine would: what `pulumi up` of `new` does to `old`.

    Pure: no I/O. Raises PlanFileError when either is not an llmscale plan. Plans of different stacks are
    compared anyway (a warning says so): their URNs differ, so everything shows as deleted and created.
    """
    validate_plan(old, "old plan")
    validate_plan(new, "new plan")
    diff = PlanDiff(
        old_stack=str(old.get("stack")),
        new_stack=str(new.get("stack")),
        old_source=old.get("source"),
        new_source=new.get("source"),
    )
    if diff.old_stack != diff.new_stack:
        diff.warnings.append(
            f"the plans are of different stacks ({diff.old_stack}, {diff.new_stack}): resources are matched by "
            "URN, which includes the stack, so every resource shows as deleted and created"
        )
    if old["formatVersion"] != new["formatVersion"]:
        diff.warnings.append(f"plan formats differ ({old['formatVersion']} → {new['formatVersion']})")

    diff.settings = [
        PropertyChange(path=key, kind="update", old=old.get(key), new=new.get(key))
        for key in ("tier", "platform", "region")
        if old.get(key) != new.get(key)
    ]

    old_providers, new_providers = _Providers(old), _Providers(new)
    old_by_urn = {r["urn"]: r for r in old["resources"]}
    new_urns = {r["urn"] for r in new["resources"]}
    states: dict[str, _State] = {}
    untyped: set[str] = set()
    for resource in new["resources"]:
        before = old_by_urn.get(resource["urn"])
        if before is None:
            states[resource["urn"]] = _State(resource, CREATE, reasons=["not in the old plan"])
            continue
        if not rules_for(resource).known:
            untyped.add(resource["type"])
        key = new_providers.key(resource)
        changes, ignored = _resource_changes(before, resource, new_providers.config(key) if key else None)
        provider_changes, provider_reasons = _provider_changes(before, resource, old_providers, new_providers)
        changes += provider_changes
        diff.ignored.extend((_ref(resource), path) for path in ignored)
        state = _State(resource, _direct_action(changes), changes)
        state.reasons = [
            f"{c.path}: {c.note}" if c.note else f"{c.path} forces replacement"
            for c in changes
            if c.forces_replacement and not c.path.startswith("(provider)")
        ] + provider_reasons
        states[resource["urn"]] = state
    if any("propertyDependencies" in r for r in new["resources"]):
        _cascade(states, new_providers)
    else:  # a plan written before inputs recorded their sources
        diff.warnings.append(
            "the new plan does not record which resource each input reads: what a replacement drags along is "
            "guessed from names (write both plans with this llmscale)"
        )
        _cascade_by_name(states)
    _settle(states, new_providers)
    for kind in sorted(untyped):
        diff.warnings.append(f"no replace rules for {kind}: its changes show as updates")

    removed = [r for r in old["resources"] if r["urn"] not in new_urns]
    diff.removed = [_ref(r) for r in removed]
    for resource in new["resources"]:
        state = states[resource["urn"]]
        ref = _ref(resource)
        if state.action == CREATE:
            diff.added.append(ref)
        elif state.action == UNCHANGED:
            diff.unchanged += 1
        else:
            change = ResourceChange(ref, tuple(state.changes), tuple(state.reasons))
            {REPLACE: diff.replaced, POSSIBLY_REPLACE: diff.possibly_replaced, UPDATE: diff.changed}[
                state.action
            ].append(change)
        diff.resources.append(
            ResourceAction(
                ref,
                state.action,
                tuple(state.reasons),
                tuple(state.changes),
                critical_category(resource["type"], resource.get("inputs")) if ref.custom else None,
            )
        )
    for resource in removed:
        ref = _ref(resource)
        critical = critical_category(resource["type"], resource.get("inputs")) if ref.custom else None
        diff.resources.append(ResourceAction(ref, DELETE, ("not in the new plan",), (), critical))

    diff.outputs = diff_values(old.get("outputs") or {}, new.get("outputs") or {})

    old_counts, new_counts = old.get("counts") or {}, new.get("counts") or {}
    diff.counts = {
        kind: (int(old_counts.get(kind, 0)), int(new_counts.get(kind, 0)))
        for kind in sorted({*old_counts, *new_counts})
        if old_counts.get(kind, 0) != new_counts.get(kind, 0)
    }

    old_violations, new_violations = old.get("violations") or [], new.get("violations") or []
    diff.new_violations, diff.resolved_violations, diff.still_failing = policy_changes(old_violations, new_violations)
    diff.mandatory_after = sum(1 for v in new_violations if v.get("enforcement") == "mandatory")

    old_errors, new_errors = old.get("schemaErrors") or [], new.get("schemaErrors") or []
    diff.new_schema_errors = _multiset_minus(new_errors, old_errors, str)
    diff.resolved_schema_errors = _multiset_minus(old_errors, new_errors, str)
    diff.schema_errors_after = len(new_errors)
    return diff


# --- plans without propertyDependencies ------------------------------------------------------------------


def _supplies(kind: str, path: PropertyPath) -> bool:
    """Whether a resource of type `kind` plausibly supplies the value at `path`: `subnetId` ← a Subnet,
    `vpcId` ← a Vpc, `metadata.namespace` ← a Namespace (the property named after the type)."""
    name = next((segment for segment in reversed(path) if isinstance(segment, str)), "")
    stem = re.sub(r"(Ids?|Arns?|Names?)$", "", name).lower()
    type_stem = kind.rsplit(":", 1)[-1].lower()
    return bool(stem) and stem.endswith(type_stem)


def _cascade_by_name(states: dict[str, _State]) -> None:
    """The cascade for plans that name dependencies only (`dependsOn`): a replace-forcing input known only after
    apply is taken to come from a replaced dependency when it is named after that dependency's type."""
    by_name: dict[str, list[str]] = {}
    for urn, state in states.items():
        by_name.setdefault(state.resource["name"], []).append(urn)
    progress = True
    while progress:
        progress = False
        for state in states.values():
            resource = state.resource
            if state.action in (CREATE, DELETE, REPLACE) or not resource.get("custom", True):
                continue
            sources = [
                urn
                for name in resource.get("dependsOn") or []
                for urn in by_name.get(name, [])
                if states[urn].action in (REPLACE, POSSIBLY_REPLACE)
            ]
            inputs = _normalize(resource.get("inputs") or {})
            ignore = [parse_path(p) for p in resource.get("ignoreChanges") or [] if isinstance(p, str)]
            for rule in rules_for(resource).rules:
                label = format_path(rule.path)
                if rule.condition or "*" in rule.path or state.follows(label):
                    continue
                if not _holds_unknown(_value_at(inputs, rule.path)) or any(_starts_with(rule.path, i) for i in ignore):
                    continue
                suppliers = sorted(
                    (urn for urn in sources if _supplies(states[urn].resource["type"], rule.path)),
                    key=lambda urn: states[urn].resource["name"],
                )
                if suppliers:
                    _link(state, label, suppliers[0], POSSIBLY_REPLACE)
                    progress = True


# --- the document for machines ---------------------------------------------------------------------------


def _change_entry(change: PropertyChange) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": change.path, "kind": change.kind, "old": change.old, "new": change.new}
    if change.forces_replacement:
        entry["forcesReplacement"] = "possibly" if change.maybe else True
    if change.note:
        entry["note"] = change.note
    return entry


def diff_document(diff: PlanDiff) -> dict[str, Any]:
    """The diff as JSON-ready data (`llmscale diff --json`): the verdict, counts by action, every resource of
    both plans with its action (one of ACTIONS) and reasons, outputs, policy and schema changes."""
    verdict = diff.verdict
    return {
        "formatVersion": DIFF_FORMAT_VERSION,
        "stack": diff.stack_label,
        "oldSource": diff.old_source,
        "newSource": diff.new_source,
        "verdict": {
            "level": verdict.level,
            "text": verdict.text,
            "critical": [
                {
                    "urn": a.resource.urn,
                    "type": a.resource.type,
                    "name": a.resource.name,
                    "action": a.action,
                    "category": a.critical,
                }
                for a in verdict.critical
            ],
        },
        "counts": diff.action_counts(),
        "resources": [
            {
                "urn": a.resource.urn,
                "type": a.resource.type,
                "name": a.resource.name,
                "action": a.action,
                "reasons": list(a.reasons),
                "changes": [_change_entry(c) for c in a.changes],
            }
            for a in diff.resources
        ],
        "outputs": [_change_entry(c) for c in diff.outputs],
        "policy": {
            "new": diff.new_violations,
            "resolved": diff.resolved_violations,
            "stillFailing": diff.still_failing,
            "mandatoryAfter": diff.mandatory_after,
        },
        "schema": {
            "new": diff.new_schema_errors,
            "resolved": diff.resolved_schema_errors,
            "errorsAfter": diff.schema_errors_after,
        },
        "settings": [_change_entry(c) for c in diff.settings],
        "typeCounts": {kind: {"old": old, "new": new} for kind, (old, new) in diff.counts.items()},
        "ignored": [{"name": ref.name, "urn": ref.urn, "path": path} for ref, path in diff.ignored],
        "warnings": diff.warnings,
        "note": AUTHORITATIVE_NOTE,
    }


# --- text ------------------------------------------------------------------------------------------------


def format_value(value: Any, limit: int = 120) -> str:
    """A value on one line, JSON-quoted so that `"8192"` and `8192` differ, cut to `limit` characters."""
    if value in (UNKNOWN_TEXT, REDACTED):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _window(old: str, new: str, width: int) -> tuple[str, str]:
    """Both strings cut to the same `width` window around their first difference, `…` where cut."""
    if max(len(old), len(new)) <= width:
        return old, new
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    start = max(0, first - width // 4)

    def cut(text: str) -> str:
        return ("…" if start else "") + text[start : start + width] + ("…" if start + width < len(text) else "")

    return cut(old), cut(new)


def _line_diff(old: str, new: str, limit: int, max_lines: int) -> list[str]:
    """A unified diff of two texts without context; a line replaced by one line shows around where it differs."""
    body = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))[2:]  # no file headers
    lines: list[str] = []
    index = 0
    while index < len(body):
        removed = 0
        while index + removed < len(body) and body[index + removed].startswith("-"):
            removed += 1
        added = 0
        while index + removed + added < len(body) and body[index + removed + added].startswith("+"):
            added += 1
        if removed and removed == added:
            pairs = [_window(body[index + i][1:], body[index + removed + i][1:], limit - 2) for i in range(removed)]
            lines += [f"-{a}" for a, _ in pairs] + [f"+{b}" for _, b in pairs]
            index += removed + added
            continue
        step = max(1, removed + added)
        lines += [line if len(line) <= limit else line[: limit - 1] + "…" for line in body[index : index + step]]
        index += step
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… {len(lines) - max_lines} more lines"]
    return lines


def value_lines(change: PropertyChange, *, limit: int = 120, max_lines: int = 24) -> list[str]:
    """How a property change reads, one string per line, without the path: `- old` / `+ new` lines.

    Multi-line strings (cloud-init user data, rendered configs) show as a line diff of what changed, capped at
    `max_lines`; long single-line strings show the part around the first difference.
    """
    old, new = change.old, change.new
    if change.kind == "add":
        return [f"+ {format_value(new, limit)}"]
    if change.kind == "delete":
        return [f"- {format_value(old, limit)}"]
    if isinstance(old, str) and isinstance(new, str):
        if "\n" in old or "\n" in new:
            return _line_diff(old, new, limit, max_lines)
        if max(len(old), len(new)) > limit:
            a, b = _window(json.dumps(old, ensure_ascii=False), json.dumps(new, ensure_ascii=False), limit - 2)
            return [f"- {a}", f"+ {b}"]
    return [f"- {format_value(old, limit)}", f"+ {format_value(new, limit)}"]


def change_header(change: PropertyChange) -> str:
    """The line naming a changed property: `~ path  (forces replacement; note)`, `+ path` or `- path`."""
    marker = {"add": "+", "delete": "-", "update": "~"}[change.kind]
    extras = []
    if change.forces_replacement:
        extras.append("may force replacement" if change.maybe else "forces replacement")
    if change.note:
        extras.append(change.note)
    return f"{marker} {change.path}" + (f"  ({'; '.join(extras)})" if extras else "")


def _violation_text(violation: dict[str, Any]) -> str:
    where = f" [{violation['resource']}]" if violation.get("resource") else ""
    return (
        f"{violation.get('enforcement', '?'):<9} {violation.get('policy', '?')}{where}: {violation.get('message', '')}"
    )


def render_diff_text(diff: PlanDiff) -> str:
    """The diff as a terminal reads it: `+` create, `-` delete, `+-` replace, `+-?` may be replaced, `~` update."""
    source = diff.new_source if diff.old_source == diff.new_source else f"{diff.old_source} → {diff.new_source}"
    lines = [f"Verdict: {diff.verdict.text}", "", f"Plan diff for stack {diff.stack_label} ({source})"]
    lines += [AUTHORITATIVE_NOTE, ""]
    if diff.warnings:
        lines += [*(f"warning: {warning}" for warning in diff.warnings), ""]
    if diff.settings:
        lines += [f"  ~ {c.path}: {format_value(c.old)} → {format_value(c.new)}" for c in diff.settings]
        lines.append("")
    if not diff.has_resource_changes:
        lines.append("No resource changes.")
    changes = [*diff.replaced, *diff.possibly_replaced, *diff.changed]
    width = max((len(ref.type) for ref in [*diff.added, *diff.removed, *(c.resource for c in changes)]), default=0)
    width += 2
    for ref in diff.added:
        lines.append(f" +   {ref.type.ljust(width)}{ref.name}  (create)")
    for ref in diff.removed:
        lines.append(f" -   {ref.type.ljust(width)}{ref.name}  (delete)")
    for marker, label, group in (
        ("+-", "replace", diff.replaced),
        ("+-?", "may be replaced", diff.possibly_replaced),
        ("~", "update", diff.changed),
    ):
        for change in group:
            reason = f": {', '.join(change.replace_reasons)}" if change.replaced else ""
            resource = change.resource
            lines.append(f" {marker:<3} {resource.type.ljust(width)}{resource.name}  ({label}{reason})")
            for prop in change.changes:
                lines.append(f"       {change_header(prop)}")
                lines += [f"           {line}" for line in value_lines(prop) if not prop.uncertain]
    if diff.ignored:
        lines += ["", "Ignored (ignoreChanges; Pulumi keeps the current value):"]
        lines += [f"  {ref.name}: {path}" for ref, path in diff.ignored]
    if diff.outputs:
        lines += ["", "Outputs:"]
        for prop in diff.outputs:
            lines.append(f"  {change_header(prop)}")
            lines += [f"      {line}" for line in value_lines(prop)]
    if diff.counts:
        lines += ["", "Resources by type (old → new):"]
        lines += [f"  {old:>4} → {new:<4} {kind}" for kind, (old, new) in diff.counts.items()]
    reworded = [v for v in diff.still_failing if "previousMessage" in v or "previousEnforcement" in v]
    if diff.new_violations or diff.resolved_violations or reworded:
        lines += [
            "",
            f"Policy violations: {len(diff.new_violations)} new, {len(diff.resolved_violations)} resolved, "
            f"{len(diff.still_failing)} still failing",
        ]
        lines += [f"  new       {_violation_text(v)}" for v in diff.new_violations]
        lines += [f"  resolved  {_violation_text(v)}" for v in diff.resolved_violations]
        # Still failing with the same words: counted only; with new words: both, so the change reads.
        for violation in reworded:
            was = {**violation, "message": violation.get("previousMessage", violation.get("message"))}
            was["enforcement"] = violation.get("previousEnforcement", violation.get("enforcement"))
            lines += [f"  still     {_violation_text(violation)}", f"    (was  {_violation_text(was)})"]
    if diff.new_schema_errors or diff.resolved_schema_errors:
        lines += [
            "",
            f"Schema errors: {len(diff.new_schema_errors)} new, {len(diff.resolved_schema_errors)} resolved",
        ]
        lines += [f"  new       {error}" for error in diff.new_schema_errors]
        lines += [f"  resolved  {error}" for error in diff.resolved_schema_errors]
    lines += ["", f"{diff.summary_line()}."]
    if diff.mandatory_after or diff.schema_errors_after:
        lines.append(
            f"The new plan has {diff.mandatory_after} mandatory policy violation(s) and "
            f"{diff.schema_errors_after} schema error(s): `llmscale plan` exits 1 on it."
        )
    return "\n".join(lines)
