"""`diff_plans`: two plan documents compared as the Pulumi engine would compare the program with the stack's state."""

from __future__ import annotations

import re
from typing import Any

from llmscale.plan.diff.cascades import State, _link, _provider_changes, cascade, direct_action, settle
from llmscale.plan.diff.changes import holds_unknown, multiset_minus, policy_changes, resource_changes, value_at
from llmscale.plan.diff.model import (
    CREATE,
    DELETE,
    POSSIBLY_REPLACE,
    REPLACE,
    UNCHANGED,
    UPDATE,
    PlanDiff,
    PropertyChange,
    PropertyPath,
    ResourceAction,
    ResourceChange,
    critical_category,
)
from llmscale.plan.diff.plan_files import _ref, validate_plan
from llmscale.plan.diff.providers import Providers
from llmscale.plan.diff.replace_table import rules_for
from llmscale.plan.diff.values import diff_values, format_path, normalize, parse_path, starts_with


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

    old_providers, new_providers = Providers(old), Providers(new)
    old_by_urn = {r["urn"]: r for r in old["resources"]}
    new_urns = {r["urn"] for r in new["resources"]}
    states: dict[str, State] = {}
    untyped: set[str] = set()
    for resource in new["resources"]:
        before = old_by_urn.get(resource["urn"])
        if before is None:
            states[resource["urn"]] = State(resource, CREATE, reasons=["not in the old plan"])
            continue
        if not rules_for(resource).known:
            untyped.add(resource["type"])
        key = new_providers.key(resource)
        changes, ignored = resource_changes(before, resource, new_providers.config(key) if key else None)
        provider_changes, provider_reasons = _provider_changes(before, resource, old_providers, new_providers)
        changes += provider_changes
        diff.ignored.extend((_ref(resource), path) for path in ignored)
        state = State(resource, direct_action(changes), changes)
        state.reasons = [
            f"{c.path}: {c.note}" if c.note else f"{c.path} forces replacement"
            for c in changes
            if c.forces_replacement and not c.path.startswith("(provider)")
        ] + provider_reasons
        states[resource["urn"]] = state
    if any("propertyDependencies" in r for r in new["resources"]):
        cascade(states, new_providers)
    else:  # a plan written before inputs recorded their sources
        diff.warnings.append(
            "the new plan does not record which resource each input reads: what a replacement drags along is "
            "guessed from names (write both plans with this llmscale)"
        )
        _cascade_by_name(states)
    settle(states, new_providers)
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
    diff.new_schema_errors = multiset_minus(new_errors, old_errors, str)
    diff.resolved_schema_errors = multiset_minus(old_errors, new_errors, str)
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


def _cascade_by_name(states: dict[str, State]) -> None:
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
            inputs = normalize(resource.get("inputs") or {})
            ignore = [parse_path(p) for p in resource.get("ignoreChanges") or [] if isinstance(p, str)]
            for rule in rules_for(resource).rules:
                label = format_path(rule.path)
                if rule.condition or "*" in rule.path or state.follows(label):
                    continue
                if not holds_unknown(value_at(inputs, rule.path)) or any(starts_with(rule.path, i) for i in ignore):
                    continue
                suppliers = sorted(
                    (urn for urn in sources if _supplies(states[urn].resource["type"], rule.path)),
                    key=lambda urn: states[urn].resource["name"],
                )
                if suppliers:
                    _link(state, label, suppliers[0], POSSIBLY_REPLACE)
                    progress = True
