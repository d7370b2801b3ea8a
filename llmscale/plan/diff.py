"""What changes between two offline plans: resources created, deleted, replaced and updated, with their properties.

`llmscale plan STACK --json` on the base branch and on a pull request give two documents; `diff_plans` compares
them the way `pulumi preview` would compare the program against the stack's state, as far as a plan can tell:

- Resources are matched by URN (type chain and name). A URN only in the new plan is created, only in the old one
  deleted.
- Inputs are compared property by property. A changed property is named by its path (`spec.template.metadata.
  labels["app.kubernetes.io/name"]`, `args[3]`). Changes under a resource's `ignoreChanges` are set aside, as
  Pulumi would.
- A change to a property in `REPLACE_RULES` means replacement (delete and create) instead of an update in place.
  The table is small and hand-kept: the real `pulumi preview`, which asks each provider, is authoritative.
- A resource whose replace-forcing property is known only after apply and that depends on a replaced resource
  (the instance in a subnet that is replaced) may be replaced too: the plans cannot see the new value, so it is
  listed apart, as "may be replaced", with the resources it depends on.

Both plans are redacted already (secrets `[secret]`, computed values `(known after apply)`): secrets compare
equal, so a changed secret does not show, and a property that is a secret on either side shows as `[secret]`
on both, so the diff never prints what a secret was or became.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from llmscale.plan.recorder import REDACTED, SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_TEXT
from llmscale.plan.report import PLAN_FORMAT_VERSION

AUTHORITATIVE_NOTE = (
    "Offline estimate from two llmscale plans; `pulumi preview` against the real stack is authoritative "
    "(replacements come from a small built-in table; secrets compare redacted, so a changed secret does not show)."
)

Segment = str | int
PropertyPath = tuple[Segment, ...]


class PlanFileError(ValueError):
    """A file or document that is not a readable llmscale plan; the message names it and says why."""


@dataclass(frozen=True)
class ReplaceRule:
    """A property whose change replaces the resource instead of updating it in place.

    `type` is a Pulumi type token or a glob (`kubernetes:*`); `path` a property path whose change (or any change
    below it) forces replacement; `when` names a boolean input that must be true in the new inputs for the rule
    to apply (e.g. `userDataReplaceOnChange`).
    """

    type: str
    path: str
    when: str | None = None


# What forces a new resource, from the providers' schemas (Terraform's ForceNew for AWS, immutable fields for
# Kubernetes). Deliberately short: it covers what llmscale creates, and errs towards "update" when unsure.
REPLACE_RULES: tuple[ReplaceRule, ...] = (
    ReplaceRule("aws:ec2/instance:Instance", "ami"),
    ReplaceRule("aws:ec2/instance:Instance", "availabilityZone"),
    ReplaceRule("aws:ec2/instance:Instance", "subnetId"),
    ReplaceRule("aws:ec2/instance:Instance", "keyName"),
    ReplaceRule("aws:ec2/instance:Instance", "userData", when="userDataReplaceOnChange"),
    ReplaceRule("aws:ec2/instance:Instance", "userDataBase64", when="userDataReplaceOnChange"),
    ReplaceRule("aws:ec2/subnet:Subnet", "cidrBlock"),
    ReplaceRule("aws:ec2/subnet:Subnet", "availabilityZone"),
    ReplaceRule("aws:ec2/subnet:Subnet", "vpcId"),
    ReplaceRule("aws:ec2/vpc:Vpc", "cidrBlock"),
    ReplaceRule("aws:ec2/securityGroup:SecurityGroup", "name"),
    ReplaceRule("aws:ec2/securityGroup:SecurityGroup", "description"),
    ReplaceRule("aws:ec2/securityGroup:SecurityGroup", "vpcId"),
    ReplaceRule("aws:ec2/routeTable:RouteTable", "vpcId"),
    ReplaceRule("aws:ec2/routeTableAssociation:RouteTableAssociation", "subnetId"),
    ReplaceRule("aws:iam/role:Role", "name"),
    ReplaceRule("aws:iam/instanceProfile:InstanceProfile", "name"),
    ReplaceRule("aws:iam/rolePolicy:RolePolicy", "name"),
    ReplaceRule("aws:iam/rolePolicy:RolePolicy", "role"),
    ReplaceRule("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "role"),
    ReplaceRule("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "policyArn"),
    ReplaceRule("aws:ssm/parameter:Parameter", "name"),
    ReplaceRule("aws:scheduler/schedule:Schedule", "name"),
    ReplaceRule("kubernetes:*", "metadata.name"),
    ReplaceRule("kubernetes:*", "metadata.namespace"),
    ReplaceRule("kubernetes:apps/v1:Deployment", "spec.selector"),
    ReplaceRule("kubernetes:apps/v1:StatefulSet", "spec.selector"),
    ReplaceRule("kubernetes:apps/v1:DaemonSet", "spec.selector"),
    ReplaceRule("kubernetes:core/v1:Service", "spec.clusterIP"),
    ReplaceRule("kubernetes:core/v1:Secret", "type"),
)

# Updates in place that still interrupt service: worth a line in a review.
DISRUPTIVE_UPDATES: dict[tuple[str, str], str] = {
    ("aws:ec2/instance:Instance", "instanceType"): "updated by stopping and starting the instance: downtime",
}


@dataclass(frozen=True)
class PropertyChange:
    """One property that differs: `kind` is add, delete or update; `old`/`new` are redacted display values."""

    path: str
    kind: str
    old: Any = None
    new: Any = None
    forces_replacement: bool = False
    note: str | None = None

    @property
    def uncertain(self) -> bool:
        """True for a value neither plan knows, listed because what it comes from is replaced."""
        return self.old == self.new == UNKNOWN_TEXT


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
    """A resource in both plans whose inputs (or provider) differ."""

    resource: ResourceRef
    changes: tuple[PropertyChange, ...]

    @property
    def replaced(self) -> bool:
        """True when any change forces a new resource."""
        return any(change.forces_replacement for change in self.changes)

    @property
    def replace_reasons(self) -> list[str]:
        """The paths of the changes that force replacement."""
        return [change.path for change in self.changes if change.forces_replacement]


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
    ignored: list[tuple[ResourceRef, str]] = field(default_factory=list)
    settings: list[PropertyChange] = field(default_factory=list)
    outputs: list[PropertyChange] = field(default_factory=list)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    new_violations: list[dict[str, Any]] = field(default_factory=list)
    resolved_violations: list[dict[str, Any]] = field(default_factory=list)
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

    def summary_line(self) -> str:
        """`1 to create, 0 to delete, …, 25 unchanged`: the counts a preview ends with."""
        maybe = f"{len(self.possibly_replaced)} may be replaced, " if self.possibly_replaced else ""
        return (
            f"{len(self.added)} to create, {len(self.removed)} to delete, {len(self.replaced)} to replace, "
            f"{maybe}{len(self.changed)} to update, {self.unchanged} unchanged"
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
    for key, kind in (("outputs", dict), ("counts", dict), ("violations", list), ("schemaErrors", list)):
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


def _replace_paths(kind: str, new_inputs: dict[str, Any]) -> list[PropertyPath]:
    paths = []
    for rule in REPLACE_RULES:
        if fnmatchcase(kind, rule.type) and (rule.when is None or new_inputs.get(rule.when) is True):
            paths.append(parse_path(rule.path))
    return paths


def _resource_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[PropertyChange], list[str]]:
    """The resource's property changes (replacement marked) and the paths set aside by ignoreChanges."""
    kind = new["type"]
    old_inputs, new_inputs = _normalize(old.get("inputs") or {}), _normalize(new.get("inputs") or {})
    raw: list[tuple[PropertyPath, str, Any, Any]] = []
    _diff_values(old_inputs, new_inputs, (), raw)
    ignore = [parse_path(p) for p in new.get("ignoreChanges") or [] if isinstance(p, str)]
    forcing = _replace_paths(kind, new_inputs)
    changes: list[PropertyChange] = []
    ignored: list[str] = []
    for path, change_kind, old_value, new_value in raw:
        if any(_starts_with(path, prefix) for prefix in ignore):
            ignored.append(format_path(path))
            continue
        note = DISRUPTIVE_UPDATES.get((kind, format_path(path)))
        changes.append(
            PropertyChange(
                path=format_path(path),
                kind=change_kind,
                old=old_value,
                new=new_value,
                forces_replacement=bool(new.get("custom", True)) and any(_starts_with(path, p) for p in forcing),
                note=note,
            )
        )
    if old.get("provider") != new.get("provider"):
        changes.append(
            PropertyChange(
                path="(provider)",
                kind="update",
                old=old.get("provider") or "(default provider)",
                new=new.get("provider") or "(default provider)",
                forces_replacement=bool(new.get("custom", True)),
                note="a resource moved to another provider is usually replaced",
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


def _supplies(kind: str, path: PropertyPath) -> bool:
    """Whether a resource of type `kind` plausibly supplies the value at `path`: `subnetId` ← a Subnet,
    `vpcId` ← a Vpc, `metadata.namespace` ← a Namespace (the property named after the type)."""
    name = next((segment for segment in reversed(path) if isinstance(segment, str)), "")
    stem = re.sub(r"(Ids?|Arns?|Names?)$", "", name).lower()
    type_stem = kind.rsplit(":", 1)[-1].lower()
    return bool(stem) and stem.endswith(type_stem)


def _possibly_replaced(
    resources: list[dict[str, Any]], replaced: dict[str, set[str]], settled: set[str]
) -> list[ResourceChange]:
    """Resources that may be replaced because a replace-forcing input comes from a replaced resource.

    `replaced` maps the names of replaced resources to their types (plans name dependencies by resource name),
    `settled` holds the URNs already created or replaced. A replace-forcing input known only after apply is
    taken to come from a replaced dependency when it is named after that dependency's type (`subnetId` and a
    replaced Subnet). Repeats until nothing more is found: replacements cascade.
    """
    found: dict[str, ResourceChange] = {}
    replaced = {name: set(kinds) for name, kinds in replaced.items()}
    progress = True
    while progress:
        progress = False
        for resource in resources:
            if resource["urn"] in settled or resource["urn"] in found or not resource.get("custom", True):
                continue
            sources = {name: replaced[name] for name in resource.get("dependsOn") or [] if name in replaced}
            if not sources:
                continue
            inputs = _normalize(resource.get("inputs") or {})
            ignore = [parse_path(p) for p in resource.get("ignoreChanges") or [] if isinstance(p, str)]
            changes = []
            for path in _replace_paths(resource["type"], inputs):
                if not _holds_unknown(_value_at(inputs, path)) or any(_starts_with(path, i) for i in ignore):
                    continue
                suppliers = sorted(name for name, kinds in sources.items() if any(_supplies(k, path) for k in kinds))
                if suppliers:
                    note = f"known after apply; comes from replaced {', '.join(suppliers)}"
                    changes.append(PropertyChange(format_path(path), "update", UNKNOWN_TEXT, UNKNOWN_TEXT, True, note))
            if changes:
                found[resource["urn"]] = ResourceChange(_ref(resource), tuple(changes))
                replaced.setdefault(resource["name"], set()).add(resource["type"])
                progress = True
    return [found[r["urn"]] for r in resources if r["urn"] in found]


def diff_plans(old: dict[str, Any], new: dict[str, Any]) -> PlanDiff:
    """Compare two plan documents (old → new) as a preview would: what `pulumi up` of `new` does to `old`.

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

    old_by_urn = {r["urn"]: r for r in old["resources"]}
    new_urns = {r["urn"] for r in new["resources"]}
    diff.removed = [_ref(r) for r in old["resources"] if r["urn"] not in new_urns]
    unchanged: list[str] = []
    for resource in new["resources"]:
        before = old_by_urn.get(resource["urn"])
        if before is None:
            diff.added.append(_ref(resource))
            continue
        changes, ignored = _resource_changes(before, resource)
        ref = _ref(resource)
        diff.ignored.extend((ref, path) for path in ignored)
        if not changes:
            unchanged.append(resource["urn"])
        elif any(change.forces_replacement for change in changes):
            diff.replaced.append(ResourceChange(ref, tuple(changes)))
        else:
            diff.changed.append(ResourceChange(ref, tuple(changes)))

    settled = {c.resource.urn for c in diff.replaced} | {r.urn for r in diff.added}
    replaced: dict[str, set[str]] = {}
    for change in diff.replaced:
        replaced.setdefault(change.resource.name, set()).add(change.resource.type)
    diff.possibly_replaced = _possibly_replaced(new["resources"], replaced, settled)
    # An updated resource that may also be replaced is listed once, with its updates and the unknown inputs.
    updates = {c.resource.urn: c.changes for c in diff.changed}
    diff.possibly_replaced = [
        ResourceChange(c.resource, (*updates.get(c.resource.urn, ()), *c.changes)) for c in diff.possibly_replaced
    ]
    maybe = {c.resource.urn for c in diff.possibly_replaced}
    diff.changed = [c for c in diff.changed if c.resource.urn not in maybe]
    diff.unchanged = sum(1 for urn in unchanged if urn not in maybe)

    diff.outputs = diff_values(old.get("outputs") or {}, new.get("outputs") or {})

    old_counts, new_counts = old.get("counts") or {}, new.get("counts") or {}
    diff.counts = {
        kind: (int(old_counts.get(kind, 0)), int(new_counts.get(kind, 0)))
        for kind in sorted({*old_counts, *new_counts})
        if old_counts.get(kind, 0) != new_counts.get(kind, 0)
    }

    old_violations, new_violations = old.get("violations") or [], new.get("violations") or []
    diff.new_violations = _multiset_minus(new_violations, old_violations, _violation_key)
    diff.resolved_violations = _multiset_minus(old_violations, new_violations, _violation_key)
    diff.mandatory_after = sum(1 for v in new_violations if v.get("enforcement") == "mandatory")

    old_errors, new_errors = old.get("schemaErrors") or [], new.get("schemaErrors") or []
    diff.new_schema_errors = _multiset_minus(new_errors, old_errors, str)
    diff.resolved_schema_errors = _multiset_minus(old_errors, new_errors, str)
    diff.schema_errors_after = len(new_errors)
    return diff


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
        extras.append("may force replacement" if change.uncertain else "forces replacement")
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
    lines = [f"Plan diff for stack {diff.stack_label} ({source})", AUTHORITATIVE_NOTE, ""]
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
    if diff.new_violations or diff.resolved_violations:
        lines += ["", f"Policy violations: {len(diff.new_violations)} new, {len(diff.resolved_violations)} resolved"]
        lines += [f"  new       {_violation_text(v)}" for v in diff.new_violations]
        lines += [f"  resolved  {_violation_text(v)}" for v in diff.resolved_violations]
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
