"""Fleet-level rules around a sizing: headroom (N+2), the tier a size belongs to, and what it costs a month."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llmscale.config.models import DAYS, ScheduleConfig
from llmscale.sizing.inputs import SizingError, SizingInputs
from llmscale.sizing.prices import CURRENCY, GpuPrice, on_demand_gpu_price, stated_gpu_price

HEADROOM_GPUS = 2  # N+2: survive losing a node and a rollout at peak
HEADROOM_FACTOR = 1.25
SINGLE_GPU_MAX_USERS = 50
MULTI_GPU_MAX_GPUS = 8
ENTERPRISE_MIN_USERS = 500
HOURS_PER_MONTH = 730.0  # 8760 / 12
WEEKS_PER_MONTH = 365 / 12 / 7


@dataclass(frozen=True)
class MonthlyCost:
    """GPU cost per month at the provisioned size: always on, and with the night schedule.

    The amounts are None when there is no price for the GPU (an on-prem node type and no stated rate).
    """

    price_per_gpu_hour: float | None
    always_on: float | None
    with_schedule: float | None
    active_hours_per_month: float
    off_hours_gpus: int
    schedule: str
    currency: str = CURRENCY
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        """camelCase document, amounts rounded to cents."""
        return {
            "currency": self.currency,
            "pricePerGpuHour": self.price_per_gpu_hour,
            "alwaysOn": None if self.always_on is None else round(self.always_on, 2),
            "withSchedule": None if self.with_schedule is None else round(self.with_schedule, 2),
            "activeHoursPerMonth": round(self.active_hours_per_month, 1),
            "offHoursGpus": self.off_hours_gpus,
            "schedule": self.schedule,
            "source": self.source,
        }


def headroom_gpus(gpus_needed: int, gpus_per_replica: int = 1) -> int:
    """GPUs to provision for `gpus_needed` at peak: max(N + 2, ceil(1.25 N)), rounded up to whole replicas.

    "If you need 8 GPUs, provision 10": two spare GPUs cover a lost node and a rolling update at peak, and a
    quarter more covers a forecast that was too low on bigger fleets.
    """
    if gpus_needed < 1 or gpus_per_replica < 1:
        raise SizingError("GPUs needed and GPUs per replica must be >= 1")
    wanted = max(gpus_needed + HEADROOM_GPUS, math.ceil(gpus_needed * HEADROOM_FACTOR))
    return math.ceil(wanted / gpus_per_replica) * gpus_per_replica


def recommend_tier(gpus_needed: int, users: int | None) -> str:
    """single-gpu when one GPU suffices for at most 50 users; enterprise beyond 8 GPUs or from 500 users on.

    With a request rate instead of users only the GPU count decides.
    """
    if gpus_needed > MULTI_GPU_MAX_GPUS or (users is not None and users >= ENTERPRISE_MIN_USERS):
        return "enterprise"
    if gpus_needed == 1 and (users is None or users <= SINGLE_GPU_MAX_USERS):
        return "single-gpu"
    return "multi-gpu"


def schedule_hours(schedule: ScheduleConfig) -> float:
    """Active hours per month of a night schedule (all 730 when the schedule is off)."""
    if not schedule.enabled:
        return HOURS_PER_MONTH
    start_h, start_m = (int(part) for part in schedule.start.split(":"))
    end_h, end_m = (int(part) for part in schedule.end.split(":"))
    minutes = (end_h * 60 + end_m - start_h * 60 - start_m) % (24 * 60)
    return min(HOURS_PER_MONTH, minutes / 60 * len(schedule.days) * WEEKS_PER_MONTH)


def monthly_cost(
    gpus: int, gpus_per_replica: int, price: float | None, schedule: ScheduleConfig, source: str = ""
) -> MonthlyCost:
    """Cost of `gpus` for a month at `price` per GPU-hour, always on and under the night schedule.

    Under the schedule the provisioned GPUs run during the active window (all of it: a conservative figure,
    autoscaling usually runs fewer) and `offHoursMinReplicas` replicas run outside it. Without a price the
    amounts are None.
    """
    active = schedule_hours(schedule)
    floor = min(gpus, schedule.off_hours_min_replicas * gpus_per_replica) if schedule.enabled else gpus
    if schedule.enabled:
        days = ",".join(schedule.days) if len(schedule.days) < 7 else "daily"
        if schedule.days == list(DAYS[:5]):
            days = "mon-fri"
        described = (
            f"{schedule.start}-{schedule.end} {schedule.timezone} {days} ({active:.0f} h/month), "
            f"{floor} GPU{'s' if floor != 1 else ''} outside"
        )
    else:
        described = "no night schedule: always on"
    return MonthlyCost(
        price_per_gpu_hour=price,
        always_on=None if price is None else gpus * price * HOURS_PER_MONTH,
        with_schedule=None if price is None else price * (gpus * active + floor * (HOURS_PER_MONTH - active)),
        active_hours_per_month=active,
        off_hours_gpus=floor,
        schedule=described,
        source=source,
    )


def gpu_price(inputs: SizingInputs) -> GpuPrice | None:
    """The rate the cost is computed at: the stated one, else the GPU's on-demand price in `inputs.region`."""
    if inputs.price_per_gpu_hour is not None:
        return stated_gpu_price(inputs.price_per_gpu_hour, "the stated price per GPU-hour")
    return on_demand_gpu_price(inputs.gpu, inputs.region)
