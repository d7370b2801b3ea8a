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
    Violation,
    clustered,
    everywhere,
)
from llmscale.simulate import policies as simulated

MANDATORY, ADVISORY = Enforcement.MANDATORY, Enforcement.ADVISORY

POLICIES: list[Policy] = [
    Policy(
        "min-active-replicas",
        redundancy.min_active_replicas.__doc__ or "",
        redundancy.min_active_replicas,
        clustered(MANDATORY),
    ),
    Policy(
        "disruption-budgets",
        redundancy.disruption_budgets.__doc__ or "",
        redundancy.disruption_budgets,
        clustered(MANDATORY),
    ),
    Policy("zone-spread", redundancy.zone_spread.__doc__ or "", redundancy.zone_spread, {"enterprise": MANDATORY}),
    Policy("dns-failover", redundancy.dns_failover.__doc__ or "", redundancy.dns_failover, {"enterprise": MANDATORY}),
    Policy(
        "gateway-redundancy",
        redundancy.gateway_redundancy.__doc__ or "",
        redundancy.gateway_redundancy,
        {"multi-gpu": ADVISORY, "enterprise": MANDATORY},
    ),
    Policy(
        "cache-aware-replicas",
        routing.cache_aware_replicas.__doc__ or "",
        routing.cache_aware_replicas,
        clustered(ADVISORY),
    ),
    Policy(
        "endpoint-picker-redundancy",
        routing.endpoint_picker_redundancy.__doc__ or "",
        routing.endpoint_picker_redundancy,
        {"multi-gpu": ADVISORY, "enterprise": MANDATORY},
    ),
    Policy("vllm-probes", redundancy.probes.__doc__ or "", redundancy.probes, everywhere(MANDATORY)),
    Policy(
        "pinned-images",
        redundancy.pinned_vllm_images.__doc__ or "",
        redundancy.pinned_vllm_images,
        everywhere(MANDATORY),
    ),
    Policy(
        "slo-declared",
        slo.slo_declared.__doc__ or "",
        slo.slo_declared,
        {"single-gpu": ADVISORY, "multi-gpu": MANDATORY, "enterprise": MANDATORY},
    ),
    Policy("request-limits", slo.request_limits.__doc__ or "", slo.request_limits, everywhere(MANDATORY)),
    Policy("gpu-headroom", slo.gpu_headroom.__doc__ or "", slo.gpu_headroom, clustered(MANDATORY)),
    # Mandatory on enterprise even where the planner only has an estimate (the default L40S types): N+2 is that
    # tier's promise, and maxReplicas is a ceiling that costs nothing until the load comes.
    Policy(
        "gpu-headroom-estimate",
        slo.gpu_headroom_estimate.__doc__ or "",
        slo.gpu_headroom_estimate,
        {"multi-gpu": ADVISORY, "enterprise": MANDATORY},
    ),
    Policy("autoscaling-bounds", slo.autoscaling_bounds.__doc__ or "", slo.autoscaling_bounds, everywhere(MANDATORY)),
    Policy("monitoring", slo.monitoring.__doc__ or "", slo.monitoring, everywhere(MANDATORY)),
    Policy("night-schedule", hygiene.night_schedule.__doc__ or "", hygiene.night_schedule, everywhere(ADVISORY)),
    Policy("gpu-taints", hygiene.gpu_taints.__doc__ or "", hygiene.gpu_taints, everywhere(ADVISORY)),
    Policy(
        "encryption-at-rest",
        hygiene.encryption_at_rest.__doc__ or "",
        hygiene.encryption_at_rest,
        everywhere(MANDATORY),
    ),
    Policy(
        "imdsv2-required", hardening.imdsv2_required.__doc__ or "", hardening.imdsv2_required, everywhere(MANDATORY)
    ),
    Policy(
        "eks-secrets-encryption",
        hardening.eks_secrets_encryption.__doc__ or "",
        hardening.eks_secrets_encryption,
        everywhere(MANDATORY),
    ),
    Policy(
        "s3-public-access-block",
        hardening.s3_public_access_block.__doc__ or "",
        hardening.s3_public_access_block,
        everywhere(MANDATORY),
    ),
    Policy(
        "eks-endpoint-access",
        hardening.eks_endpoint_access.__doc__ or "",
        hardening.eks_endpoint_access,
        everywhere(MANDATORY),
    ),
    Policy("open-ports", hygiene.open_ports.__doc__ or "", hygiene.open_ports, everywhere(ADVISORY)),
    Policy(
        "plaintext-secrets", hygiene.plaintext_secrets.__doc__ or "", hygiene.plaintext_secrets, everywhere(ADVISORY)
    ),
    Policy("tls-endpoint", hygiene.tls_endpoint.__doc__ or "", hygiene.tls_endpoint, everywhere(MANDATORY)),
    # Policies from a simulated business day of the stack's planned objects (llmscale.simulate.policies).
    # Mandatory on the single host too: its compose file waits for vLLM's drain (stop_grace_period), so a stack
    # whose night stop still cuts answers has overridden something that matters to its users.
    Policy("night-kills", simulated.night_kills.__doc__ or "", simulated.night_kills, everywhere(MANDATORY)),
    Policy("scale-flapping", simulated.scale_flapping.__doc__ or "", simulated.scale_flapping, clustered(ADVISORY)),
    Policy("failover-rto", simulated.failover_rto.__doc__ or "", simulated.failover_rto, everywhere(ADVISORY)),
    Policy("morning-ramp", simulated.morning_ramp.__doc__ or "", simulated.morning_ramp, everywhere(ADVISORY)),
]


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
