"""CrossGuard adapter: the policy set as pulumi-policy StackValidationPolicies.

Per-tier enforcement needs the tier, which CrossGuard only knows at run time from the stack's resources; so
a policy mandatory on some tiers and advisory on others becomes two CrossGuard policies (`NAME` mandatory,
`NAME-advisory` advisory), each reporting only where its level applies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy, proxy

from llmscale.plan.recorder import REDACTED, UNKNOWN_TEXT
from llmscale.policy.model import Enforcement, Inventory, Policy, Record
from llmscale.policy.pack import POLICIES

PACK_NAME = "llmscale"


# Properties the providers always hold as secrets; the policy SDK hands them over unwrapped.
SECRET_FIELDS = {
    "kubernetes:core/v1:Secret": ("data", "stringData"),
    "aws:ssm/parameter:Parameter": ("value",),
}


def plain(value: Any) -> Any:
    """A property value as the rules expect it (the offline plan's form): plain dicts and lists instead of the
    SDK's unknown-checking proxies, `(known after apply)` for unknowns, whole numbers as ints."""
    target = value
    if type(value).__name__ in ("_DictProxy", "_ListProxy"):
        target = value["__target"]
    if isinstance(target, dict):
        return {key: plain(item) for key, item in target.items()}
    if isinstance(target, list | tuple):
        return [plain(item) for item in target]
    if proxy._is_unknown(target):
        return UNKNOWN_TEXT
    if isinstance(target, float) and target.is_integer():
        return int(target)
    return target


def _props(resource_type: str, props: Any) -> dict[str, Any]:
    converted = plain(props or {})
    for field in SECRET_FIELDS.get(resource_type, ()):
        if converted.get(field) is not None:
            converted[field] = REDACTED
    return converted


def inventory_from_crossguard(args: StackValidationArgs) -> Inventory:
    """The inventory of a stack as CrossGuard hands it to a stack policy."""
    return Inventory.of(
        Record(
            type=resource.resource_type,
            name=resource.name,
            props=_props(resource.resource_type, resource.props),
            urn=resource.urn,
            parent=resource.parent.name if resource.parent is not None else None,
            depends_on=tuple(dep.name for dep in resource.dependencies or []),
        )
        for resource in args.resources
    )


def _unique_urn(inventory: Inventory, name: str | None) -> str | None:
    """The URN of the one resource with this name; None when the name is absent or shared (names are per type)."""
    urns = [record.urn for record in inventory.records if record.name == name]
    return urns[0] if name and len(urns) == 1 else None


def validator(policy: Policy, level: Enforcement) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """A CrossGuard stack validation that runs `policy`'s rule where the stack's tier gives it `level`."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        inventory = inventory_from_crossguard(args)
        if policy.level_for(inventory.tier) is not level:
            return
        for finding in policy.rule(inventory):
            report_violation(finding.message, finding.urn or _unique_urn(inventory, finding.resource))

    return validate


def crossguard_policies(policies: list[Policy] = POLICIES) -> list[StackValidationPolicy]:
    """Every policy as one or two CrossGuard stack policies (mandatory and advisory variants)."""
    adapted: list[StackValidationPolicy] = []
    for policy in policies:
        levels = set(policy.enforcement.values()) - {Enforcement.DISABLED}
        for level in (Enforcement.MANDATORY, Enforcement.ADVISORY):
            if level not in levels:
                continue
            suffix = "-advisory" if level is Enforcement.ADVISORY and Enforcement.MANDATORY in levels else ""
            kwargs: dict[str, Any] = {
                "name": f"{policy.name}{suffix}",
                "description": " ".join(policy.description.split()),
                "validate": validator(policy, level),
                "enforcement_level": EnforcementLevel.MANDATORY
                if level is Enforcement.MANDATORY
                else EnforcementLevel.ADVISORY,
            }
            adapted.append(StackValidationPolicy(**kwargs))
    return adapted
