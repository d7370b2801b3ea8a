"""What a simulation is asked to do (`Options`) and what it records (`Run`), on the reference week's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from llmscale.simulate.stack import SimStack
from llmscale.simulate.state import Minute, SiteState, Workload
from llmscale.simulate.traffic import Traffic
from llmscale.sizing.calibration import CalibrationPoint

STEP_SECONDS = 5.0
WARM_UP_MINUTES = 12 * 60  # start at Sunday noon, so that Monday begins in the night state
REFERENCE_MONDAY = (2024, 1, 1)  # a Monday without a daylight-saving change in the week after it
RECOVERY_MINUTES = 10  # the standby has recovered once it holds the SLO for this long
FLAP_WINDOW_SECONDS = 3600.0


@dataclass(frozen=True)
class Options:
    """How to run: length, seed, traffic, API clients sharing the load, a region failure, price, calibration."""

    days: float = 7.0
    seed: int = 0
    traffic: Traffic | None = None
    clients: int = 1
    fail_minute: int | None = None  # minutes after Monday 00:00 (schedule time zone) when the primary dies
    price_per_gpu_hour: float | None = None
    calibration: tuple[CalibrationPoint, ...] = ()
    warm_up_minutes: int = WARM_UP_MINUTES


@dataclass
class Run:
    """Everything a finished simulation recorded, for the report."""

    stack: SimStack
    options: Options
    start: datetime
    minutes: list[Minute]
    gpu_seconds: float
    peak_gpus: float
    workloads: list[Workload]
    sites: list[SiteState]
    peak_per_minute: float
    peak_replicas: int | None
    traffic_description: str
    fail_minute: int | None
    notes: list[str]
    killed_by: dict[str, float]
    baseline: Run | None = None  # with a region failure: the same run without it


def reference_start(timezone: str) -> datetime:
    """Monday 00:00 of the reference week in the schedule's time zone, as a UTC instant."""
    year, month, day = REFERENCE_MONDAY
    return datetime(year, month, day, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
