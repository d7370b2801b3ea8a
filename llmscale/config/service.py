"""The GPU machines, the service level, the load, the night schedule and the routing of a stack."""

from __future__ import annotations

import zoneinfo
from enum import StrEnum
from typing import Annotated

from pydantic import Field, PrivateAttr, field_validator, model_validator

from llmscale.config.base import (
    CLUSTER_TIERS,
    DAYS,
    HEADER_NAME,
    HHMM,
    INSTANCE_TYPE,
    ConfigModel,
    Tier,
    scope,
)
from llmscale.sizing import catalog


class GpuConfig(ConfigModel):
    """The GPU machines: instance type, GPUs per node when the type is not catalogued, and disk."""

    instance_type: Annotated[
        str,
        Field(
            pattern=INSTANCE_TYPE,
            description="The GPU machine: an EC2 instance type on platform aws (the single host, or the GPU node "
            "groups), or your own node type's name on an existing cluster or server (then give gpusPerNode).",
        ),
    ] = "g6e.xlarge"
    gpus_per_node: Annotated[
        int | None,
        Field(
            ge=1,
            le=16,
            description="GPUs on one machine of instanceType; needed only for a type llmscale's catalogue does not "
            "know, and overrides the catalogue otherwise.",
        ),
    ] = None
    disk_gb: Annotated[
        int | None,
        Field(
            ge=50,
            le=16_384,
            description="Root disk of a GPU machine in GB (encrypted gp3; on EKS unless eks.gpuDiskGb says "
            "otherwise); none: sized for the model, the AMI and the images plus two copies of the weights, at "
            "least 150.",
        ),
    ] = None
    # None: the on-demand price of instanceType in the stack's region, from llmscale.sizing.prices.
    price_per_gpu_hour: Annotated[
        float | None,
        Field(
            ge=0,
            description="Your price of one GPU for one hour, in USD, for the monthly cost figures; none: the "
            "on-demand price of instanceType split over its GPUs (llmscale/sizing/prices.py; us-east-1's rate where no "
            "regional figure is known).",
        ),
    ] = None

    @model_validator(mode="after")
    def _known_or_stated(self) -> GpuConfig:
        if self.gpus_per_node is None and catalog.lookup(self.instance_type) is None:
            raise ValueError(
                "instanceType: is not in llmscale's catalogue; set gpusPerNode to the number of GPUs it has"
            )
        return self

    @property
    def gpus(self) -> int:
        """GPUs on one node of this type."""
        if self.gpus_per_node is not None:
            return self.gpus_per_node
        known = catalog.lookup(self.instance_type)
        assert known is not None  # guaranteed by _known_or_stated
        return known.gpus


class SloConfig(ConfigModel):
    """The service level the stack promises; alerts, dashboards and policies are derived from it."""

    p99_latency_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=600,
            description="The 99th percentile of end-to-end request latency, in seconds, the stack promises: the "
            "capacity planner sizes for it and the LlmscaleLatencyP99OverSlo alert fires above it. Put it on one "
            "of vLLM's histogram bucket boundaries (1, 2.5, 5, 10, 15, 20, 30 s …).",
        ),
    ] = 2.0
    ttft_p95_seconds: Annotated[
        float | None,
        Field(
            gt=0,
            le=120,
            description="The 95th percentile of time to first token, in seconds: the planner sizes for it and the "
            "dashboard draws it as a line; none: no TTFT target.",
        ),
    ] = None
    availability: Annotated[
        float,
        Field(
            gt=0.5,
            lt=1,
            description="Share of requests that succeed, as a fraction (0.999, not 99.9): the error budget the "
            "burn-rate alerts (LlmscaleErrorBudgetBurnFast/Slow) watch.",
        ),
    ] = 0.995
    max_error_rate: Annotated[
        float,
        Field(
            gt=0,
            lt=1,
            description="Share of failed, aborted or rejected (HTTP 503) requests, as a fraction, above which "
            "LlmscaleErrorRateHigh fires.",
        ),
    ] = 0.001

    @field_validator("availability", "max_error_rate", mode="before")
    @classmethod
    def _fraction_not_percent(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value <= 100:
            raise ValueError(f"is a fraction: write {value / 100:g} for {value:g} %")
        return value


class LoadConfig(ConfigModel):
    """The load the stack is sized for at its daily peak."""

    peak_concurrent_users: Annotated[
        int,
        Field(
            ge=1,
            le=1_000_000,
            description="Users active at the daily peak, each sending a request, reading the answer and thinking: "
            "what the capacity planner and the gpu-headroom policy size the GPUs for.",
        ),
    ] = 25
    prompt_tokens: Annotated[
        int,
        Field(ge=1, le=1_000_000, description="Prompt tokens per request (context included) at the peak."),
    ] = 1000
    output_tokens: Annotated[
        int,
        Field(
            ge=1,
            le=100_000,
            description="Tokens per answer: give the long answers (p90–p99), not the mean, since the p99 "
            "latency is set by them.",
        ),
    ] = 250
    think_time_seconds: Annotated[
        float,
        Field(
            ge=0,
            le=3600,
            description="Seconds a user reads and types between getting an answer and sending the next request.",
        ),
    ] = 10.0


class ScheduleConfig(ConfigModel):
    """Active hours: outside them GPU capacity falls to the off-hours minimum (the night schedule)."""

    enabled: bool = Field(
        default=True,
        description="Scale down outside active hours: the single host on AWS is stopped and started by EventBridge "
        "Scheduler; on Kubernetes each profile falls to offHoursMinReplicas and idle GPU nodes go. false: "
        "capacity stays up around the clock.",
    )
    timezone: str = Field(
        default="UTC",
        description="The IANA time zone the start and end times are in (Europe/Berlin); daylight saving is followed.",
    )
    days: list[str] = Field(
        default=["mon", "tue", "wed", "thu", "fri"],
        description="The days the active window starts on: `mon` … `sun`, each at most once.",
    )
    start: str = Field(default="08:00", description="Start of the active window, 24-hour `HH:MM`.")
    end: str = Field(
        default="19:00",
        description="End of the active window, 24-hour `HH:MM`; earlier than start means the window ends the next day.",
    )
    off_hours_min_replicas: Annotated[
        int,
        Field(
            ge=0,
            le=100,
            description="Replicas each profile keeps outside active hours (capped at its minReplicas); 0 lets its "
            "GPU nodes go at night, and a request for a profile at zero is answered 503 until the next window "
            "opens (nothing wakes it on traffic).",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = 0
    warm_up_minutes: Annotated[
        int,
        Field(
            ge=0,
            le=240,
            description="Minutes before the active window that capacity starts (the host's start, the cron floor "
            "on an existing cluster), so models are loaded when users arrive. On the EKS cluster llmscale builds, "
            "GPU nodes must start first: eks.scaleUpLeadMinutes applies there instead.",
        ),
    ] = 15

    # Set only by `llmscale.serving.schedules.with_lead_time`: the days the window ends on, kept from before it opened
    # early (a window stretched to a day or more can no longer tell them from its start and end).
    _end_days: tuple[str, ...] | None = PrivateAttr(default=None)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; use an IANA name such as Europe/Berlin") from None
        return timezone

    @field_validator("days")
    @classmethod
    def _known_days(cls, days: list[str]) -> list[str]:
        if not days:
            raise ValueError("must name at least one day (mon..sun)")
        lowered = [day.lower() for day in days]
        unknown = [str(index) for index, day in enumerate(lowered) if day not in DAYS]
        if unknown:
            raise ValueError(f"entry {', '.join(unknown)} is not a day; use mon, tue, wed, thu, fri, sat, sun")
        if len(set(lowered)) != len(lowered):
            raise ValueError("names a day twice")
        return sorted(lowered, key=DAYS.index)

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError("must be a 24-hour time HH:MM, for example 08:00")
        return value

    @model_validator(mode="after")
    def _non_empty_window(self) -> ScheduleConfig:
        if self.start == self.end:
            raise ValueError(f"end: equals start ({self.start}), so the active window would be empty")
        return self

    @property
    def crosses_midnight(self) -> bool:
        """True when the active window ends on the next day (e.g. 20:00–06:00)."""
        return self.end < self.start


class RoutingStrategy(StrEnum):
    """How the gateway spreads requests over the replicas of a profile."""

    ROUND_ROBIN = "round-robin"
    LEAST_LOADED = "least-loaded"
    STICKY = "sticky"
    CACHE_AWARE = "cache-aware"


class RoutingConfig(ConfigModel):
    """How the gateway balances requests over replicas."""

    strategy: RoutingStrategy = Field(
        default=RoutingStrategy.LEAST_LOADED,
        description="How the gateway picks a replica: `round-robin`, `least-loaded` (fewest requests in flight) "
        "or `sticky` (a consistent hash of sessionHeader, so a session's requests reuse one replica's prefix "
        "cache), or `cache-aware` (an endpoint picker scores each replica's queue, KV-cache use and cached prompt "
        "prefixes; Kubernetes tiers only, see docs/routing.md).",
    )
    session_header: Annotated[
        str,
        Field(pattern=HEADER_NAME, description="The request header that names a session, for strategy `sticky`."),
    ] = "x-session-id"
    endpoint_picker_replicas: Annotated[
        int | None,
        Field(
            ge=1,
            le=5,
            description="Replicas of each profile's endpoint picker with strategy `cache-aware` (one leads, the "
            "others stand by). Default: 2 on enterprise, 1 otherwise.",
        ),
    ] = None

    def picker_replicas(self, tier: Tier) -> int:
        """The endpoint picker replicas of a profile: as stated, else two where the tier promises availability."""
        if self.endpoint_picker_replicas is not None:
            return self.endpoint_picker_replicas
        return 2 if tier is Tier.ENTERPRISE else 1


class SizingConfig(ConfigModel):
    """How the capacity planner sizes the stack: from measured results instead of its built-in figures."""

    calibration: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=1024,
            description="`vllm bench serve --save-result` results for this stack's GPU and model (a file, or a "
            "directory of them as `llmscale loadtest` collects them; see docs/sizing.md), which the capacity "
            "planner sizes the stack from instead of its built-in figures: the gpu-headroom policies in "
            "`llmscale plan` and `pulumi preview`, and `llmscale simulate`. A path relative to the project "
            "directory (the one holding Pulumi.yaml), or absolute; `llmscale new --calibration` writes it. A "
            "missing or unreadable file is a config error; none: the built-in figures.",
        ),
    ] = None
