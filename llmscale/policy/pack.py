"""The policy set: every rule with its enforcement per tier, and the in-process runner `llmscale plan` uses.

`policies/__main__.py` adapts the same list to CrossGuard for `pulumi preview --policy-pack policies`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmscale.policy import hardening, hygiene, redundancy, routing, slo
from llmscale.policy.model import (
    Enforcement,
    Inventory,
    Policy,
    Record,
    Rule,
    Violation,
    clustered,
    everywhere,
)
from llmscale.simulate import policies as simulated

MANDATORY, ADVISORY = Enforcement.MANDATORY, Enforcement.ADVISORY


def _policy(name: str, rule: Rule, enforcement: dict[str, Enforcement]) -> Policy:
    """A policy described by its rule's docstring (what `llmscale plan` and CrossGuard show)."""
    return Policy(name, rule.__doc__ or "", rule, enforcement)


# Every rule: its name (CrossGuard adds `-advisory` for the advisory variant) and its enforcement per tier.
RULES: list[tuple[str, Rule, dict[str, Enforcement]]] = [
    ("min-active-replicas", redundancy.min_active_replicas, clustered(MANDATORY)),
    ("disruption-budgets", redundancy.disruption_budgets, clustered(MANDATORY)),
    ("zone-spread", redundancy.zone_spread, {"enterprise": MANDATORY}),
    ("dns-failover", redundancy.dns_failover, {"enterprise": MANDATORY}),
    ("gateway-redundancy", redundancy.gateway_redundancy, {"multi-gpu": ADVISORY, "enterprise": MANDATORY}),
    ("cache-aware-replicas", routing.cache_aware_replicas, clustered(ADVISORY)),
    (
        "endpoint-picker-redundancy",
        routing.endpoint_picker_redundancy,
        {"multi-gpu": ADVISORY, "enterprise": MANDATORY},
    ),
    ("vllm-probes", redundancy.probes, everywhere(MANDATORY)),
    ("pinned-images", redundancy.pinned_vllm_images, everywhere(MANDATORY)),
    ("slo-declared", slo.slo_declared, {"single-gpu": ADVISORY, "multi-gpu": MANDATORY, "enterprise": MANDATORY}),
    ("request-limits", slo.request_limits, everywhere(MANDATORY)),
    ("gpu-headroom", slo.gpu_headroom, clustered(MANDATORY)),
    # Mandatory on enterprise even where the planner only has an estimate (the default L40S types): N+2 is that
    # tier's promise, and maxReplicas is a ceiling that costs nothing until the load comes.
    ("gpu-headroom-estimate", slo.gpu_headroom_estimate, {"multi-gpu": ADVISORY, "enterprise": MANDATORY}),
    # Mandatory on enterprise where the figures are measured; a warning on an estimate, which may be several
    # times off and would buy GPUs on it.
    ("in-flight-target", slo.in_flight_target, {"multi-gpu": ADVISORY, "enterprise": MANDATORY}),
    ("in-flight-target-estimate", slo.in_flight_target_estimate, clustered(ADVISORY)),
    ("autoscaling-bounds", slo.autoscaling_bounds, everywhere(MANDATORY)),
    ("monitoring", slo.monitoring, everywhere(MANDATORY)),
    ("night-schedule", hygiene.night_schedule, everywhere(ADVISORY)),
    ("gpu-taints", hygiene.gpu_taints, everywhere(ADVISORY)),
    ("encryption-at-rest", hygiene.encryption_at_rest, everywhere(MANDATORY)),
    ("imdsv2-required", hardening.imdsv2_required, everywhere(MANDATORY)),
    ("eks-secrets-encryption", hardening.eks_secrets_encryption, everywhere(MANDATORY)),
    ("s3-public-access-block", hardening.s3_public_access_block, everywhere(MANDATORY)),
    ("eks-endpoint-access", hardening.eks_endpoint_access, everywhere(MANDATORY)),
    ("open-ports", hygiene.open_ports, everywhere(ADVISORY)),
    ("plaintext-secrets", hygiene.plaintext_secrets, everywhere(ADVISORY)),
    ("tls-endpoint", hygiene.tls_endpoint, everywhere(MANDATORY)),
    # Policies from a simulated business day of the stack's planned objects (llmscale.simulate.policies).
    # Mandatory on the single host too: its compose file waits for vLLM's drain (stop_grace_period), so a stack
    # whose night stop still cuts answers has overridden something that matters to its users.
    ("night-kills", simulated.night_kills, everywhere(MANDATORY)),
    ("scale-flapping", simulated.scale_flapping, clustered(ADVISORY)),
    ("failover-rto", simulated.failover_rto, everywhere(ADVISORY)),
    ("morning-ramp", simulated.morning_ramp, everywhere(ADVISORY)),
]

POLICIES: list[Policy] = [_policy(name, rule, enforcement) for name, rule, enforcement in RULES]


def evaluate(inventory: Inventory, policies: Iterable[Policy] = POLICIES) -> list[Violation]:
    """Run every policy that applies to the stack's tier; one Violation per finding."""
    violations = []
    for policy in policies:
        level = policy.level_for(inventory.tier)
        if level is Enforcement.DISABLED:
            continue
        for finding in policy.rule(inventory):
            violations.append(Violation(policy.name, level, finding.message, finding.resource))
    return violations


def inventory_from_plan(document: dict[str, Any]) -> Inventory:
    """The inventory of an offline plan document."""
    return Inventory.of(
        Record(
            type=r["type"],
            name=r["name"],
            props=r["inputs"],
            urn=r.get("urn"),
            parent=r.get("parent"),
            depends_on=tuple(r.get("dependsOn") or ()),
        )
        for r in document["resources"]
    )
