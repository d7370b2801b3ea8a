"""Tier presets: the defaults each tier starts from, in the same camelCase shape as a stack file.

A stack's explicit config is merged over its tier's preset, so a stack only states what differs. Model
profile defaults apply to every entry of `llmscale:models`.
"""

from __future__ import annotations

import copy
from typing import Any

from llmscale.config.models import Platform, Tier, platforms_of
from llmscale.merge import deep_merge

PRESETS: dict[Tier, dict[str, Any]] = {
    Tier.SINGLE_GPU: {
        "modelDefaults": {"minReplicas": 1, "maxReplicas": 1, "maxNumSeqs": 64, "maxModelLen": 8192},
        "gpu": {"instanceType": "g6e.xlarge"},
        "slo": {"p99LatencySeconds": 10.0, "availability": 0.99, "maxErrorRate": 0.001},
        "load": {"peakConcurrentUsers": 25},
        "schedule": {"enabled": True, "offHoursMinReplicas": 0},
        "environment": "development",
    },
    Tier.MULTI_GPU: {
        "modelDefaults": {"minReplicas": 2, "maxReplicas": 4, "maxNumSeqs": 128, "maxModelLen": 8192},
        "gpu": {"instanceType": "g6e.xlarge"},
        "slo": {"p99LatencySeconds": 10.0, "availability": 0.995, "maxErrorRate": 0.001},
        "load": {"peakConcurrentUsers": 100},
        "schedule": {"enabled": True, "offHoursMinReplicas": 0},
        "routing": {"strategy": "least-loaded"},
        "environment": "production",
    },
    Tier.ENTERPRISE: {
        "kubernetes": {"topologySpread": True},
        "eks": {"zoneCount": 3, "headroomNodes": 2},
        # Per API key and profile, counted by each Envoy replica (2 by default). The preset's 500 users send about
        # 1,355 requests a minute at the peak (`llmscale simulate` on the enterprise example) and up to twice that
        # in bursts, often through one application's key: 600 answered 10-14 % of the peak with 429 there; 1,500
        # lets the declared load through and still caps a runaway client at about twice it.
        "gateway": {"rateLimitRequestsPerMinute": 1500},
        "modelDefaults": {"minReplicas": 3, "maxReplicas": 12, "maxNumSeqs": 128, "maxModelLen": 8192},
        "gpu": {"instanceType": "g6e.2xlarge"},
        "slo": {"p99LatencySeconds": 10.0, "availability": 0.999, "maxErrorRate": 0.001},
        "load": {"peakConcurrentUsers": 500},
        "schedule": {"enabled": True, "offHoursMinReplicas": 2},
        "routing": {"strategy": "least-loaded"},
        "environment": "production",
    },
}


def _other_platforms() -> dict[str, tuple[str, ...]]:
    """For each preset key, the platforms whose stacks cannot state it."""
    keys = {key for preset in PRESETS.values() for key in preset} - {"modelDefaults"}
    return {key: tuple(str(p) for p in Platform if p not in platforms_of(key)) for key in keys}


_OTHER_PLATFORMS = _other_platforms()


def apply_preset(tier: Tier, values: dict[str, Any]) -> dict[str, Any]:
    """The stack's values over its tier's preset; model defaults are spread into every model profile.

    A preset section the stack's platform has no use for (`eks` on an existing cluster) is left out.
    """
    preset = copy.deepcopy(PRESETS[tier])
    model_defaults = preset.pop("modelDefaults")
    platform = values.get("platform")
    preset = {key: value for key, value in preset.items() if platform not in _OTHER_PLATFORMS.get(key, ())}
    merged = deep_merge(preset, values)
    models = merged.get("models")
    if isinstance(models, list):
        merged["models"] = [deep_merge(model_defaults, m) if isinstance(m, dict) else m for m in models]
    return merged
