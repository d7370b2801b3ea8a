"""CrossGuard adapter: the policy set as pulumi-policy StackValidationPolicies.

Per-tier enforcement needs the tier, which CrossGuard only knows at run time from the stack's resources; so
a policy mandatory on some tiers and advisory on others becomes two CrossGuard policies (`NAME` mandatory,
`NAME-advisory` advisory), each reporting only where its level applies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

from llmscale.policy.model import Enforcement, Inventory, Policy, Record
from llmscale.policy.pack import POLICIES

PACK_NAME = "llmscale"


def inventory_from_crossguard(args: StackValidationArgs) -> Inventory:
    """The inventory of a stack as CrossGuard hands it to a stack policy."""
    return Inventory.of(
        Record(
            type=resource.resource_type,
            name=resource.name,
            props=dict(resource.props or {}),
            urn=resource.urn,
            parent=resource.parent.name if resource.parent is not None else None,
            depends_on=tuple(dep.name for dep in resource.dependencies or []),
        )
        for resource in args.resources
    )


def validator(policy: Policy, level: Enforcement) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """A CrossGuard stack validation that runs `policy`'s rule where the stack's tier gives it `level`."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        inventory = inventory_from_crossguard(args)
        if policy.level_for(inventory.tier) is not level:
            return
        urns = {record.name: record.urn for record in inventory.records}
        for finding in policy.rule(inventory):
            report_violation(finding.message, urns.get(finding.resource) if finding.resource else None)

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
