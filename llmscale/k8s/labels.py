"""Names and labels shared by every object of a model profile, so selectors always agree."""

from __future__ import annotations

from llmscale.config.models import Lane, ModelProfile

PART_OF = "llmscale"
PROFILE_LABEL = "llmscale.io/profile"
TRACK_LABEL = "llmscale.io/track"
LANE_LABEL = "llmscale.io/lane"
SITE_LABEL = "llmscale.io/site"  # primary or standby (the warm copy in another region)

PRIORITY_CLASSES: dict[Lane, tuple[str, int]] = {
    # Interactive users are scheduled (and keep GPUs) before batch jobs.
    Lane.INTERACTIVE: ("llmscale-interactive", 100_000),
    Lane.BATCH: ("llmscale-batch", 10_000),
}


def workload_name(profile: ModelProfile, canary: bool = False) -> str:
    """The Deployment and Service name of a profile (or of its canary)."""
    return f"{profile.name}-canary" if canary else profile.name


def selector_labels(profile: ModelProfile, canary: bool = False) -> dict[str, str]:
    """Labels that select exactly the pods of one profile track (stable or canary)."""
    return {
        "app.kubernetes.io/name": "vllm",
        PROFILE_LABEL: profile.name,
        TRACK_LABEL: "canary" if canary else "stable",
    }


def labels(profile: ModelProfile, canary: bool = False, standby: bool = False) -> dict[str, str]:
    """All labels of a profile's objects: the selector plus lane, site and ownership."""
    return {
        SITE_LABEL: "standby" if standby else "primary",
        **selector_labels(profile, canary),
        "app.kubernetes.io/instance": workload_name(profile, canary),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        LANE_LABEL: str(profile.lane),
    }
