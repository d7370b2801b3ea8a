"""What a stack's GPUs cost per month: always on, and with its night schedule.

One pure function of the stack config and its region, used by `llmscale new` (the comment in the stack file),
the offline plan (`cost` in the JSON document, the text summary and the pull-request comment) and the
dashboards. It counts GPU instances only: load balancers, NAT gateways, the EKS control plane, disks and data
transfer are not in it.

- The rate is `gpu.pricePerGpuHour` when the stack states it, else the on-demand price of `gpu.instanceType` in
  the stack's region from `llmscale.sizing.prices` (which says when it had to use another region's figure). An existing
  server (`platform: host`) or a node type without a figure has no price unless the stack states one.
- Instances are counted as the autoscaler would place them: replicas do not split across nodes, so a node of
  `gpusPerNode` GPUs holds `gpusPerNode // gpusPerReplica` replicas of a profile, and a node is paid whole.
- Always on: every profile at `maxReplicas` (plus canaries) around the clock, an upper bound for the busiest
  month. With the schedule: that maximum during the active window, the off-hours floor outside it (KEDA's
  `minReplicaCount`). A single host runs its one instance in the window and is stopped outside it.
- A warm standby region (`failover.standbyRegion`) adds its own minimum (`standbyMinReplicas` per profile) in
  the window and its off-hours floor outside, priced in the standby's region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llmscale.config.models import ModelProfile, Platform, StackConfig, Tier, failover_of
from llmscale.sizing.fleet import HOURS_PER_MONTH, schedule_hours
from llmscale.sizing.prices import CURRENCY, GpuPrice, on_demand_gpu_price, stated_gpu_price


@dataclass(frozen=True)
class StackCost:
    """A stack's monthly GPU cost; amounts are None when there is no price to compute them with."""

    currency: str
    price_per_gpu_hour: float | None
    monthly_always_on: float | None
    monthly_with_schedule: float | None
    source: str

    def to_json(self) -> dict[str, Any]:
        """The plan document's `cost`: camelCase, amounts rounded to whole currency units' cents."""
        return {
            "currency": self.currency,
            "pricePerGpuHour": None if self.price_per_gpu_hour is None else round(self.price_per_gpu_hour, 4),
            "monthlyAlwaysOn": None if self.monthly_always_on is None else round(self.monthly_always_on, 2),
            "monthlyWithSchedule": None if self.monthly_with_schedule is None else round(self.monthly_with_schedule, 2),
            "source": self.source,
        }

    def summary(self) -> str:
        """One line for people: the two monthly figures and the rate, or why there are none."""
        if self.monthly_always_on is None or self.monthly_with_schedule is None or self.price_per_gpu_hour is None:
            return f"monthly GPU cost: unknown ({self.source})"
        return (
            f"monthly GPU cost: {money(self.monthly_always_on, self.currency)} always on, "
            f"{money(self.monthly_with_schedule, self.currency)} with the night schedule, at "
            f"{money(self.price_per_gpu_hour, self.currency, cents=True)}/GPU-hour ({self.source})"
        )


def money(amount: float, currency: str = CURRENCY, *, cents: bool = False) -> str:
    """`$12,345` (or `$1.86` with cents) for USD, `12,345 EUR` for anything else."""
    text = f"{amount:,.2f}" if cents else f"{amount:,.0f}"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def stack_gpu_price(config: StackConfig, region: str | None) -> GpuPrice | None:
    """The stack's rate per GPU-hour: as stated, else the on-demand price of its instance type in `region`.

    None for an existing server (`platform: host`) or a node type the price table does not know, when the stack
    states no rate.
    """
    if config.gpu.price_per_gpu_hour is not None:
        return stated_gpu_price(config.gpu.price_per_gpu_hour)
    if config.platform is Platform.HOST:
        return None
    return on_demand_gpu_price(config.gpu.instance_type, region)


def _nodes(config: StackConfig, replicas: dict[str, int]) -> int:
    """Whole nodes holding `replicas` of each profile (by name): replicas do not split across nodes."""
    per_node = config.gpu.gpus
    total = 0
    for profile in config.models:
        fit = max(1, per_node // profile.gpus_per_replica)
        total += math.ceil(replicas[profile.name] / fit)
    return total


def _off_hours(config: StackConfig, profile: ModelProfile, active_minimum: int) -> int:
    """Replicas outside the active window: KEDA's minReplicaCount under the night schedule."""
    if config.schedule.enabled and active_minimum >= 1:
        return min(config.schedule.off_hours_min_replicas, active_minimum)
    return active_minimum


def _instance_hours(config: StackConfig) -> tuple[float, float, str]:
    """GPU-hours per month at the primary site: (always on, with the schedule, what was counted)."""
    active = schedule_hours(config.schedule)
    gpus_per_node = config.gpu.gpus
    if config.tier is Tier.SINGLE_GPU:
        return gpus_per_node * HOURS_PER_MONTH, gpus_per_node * active, f"1 x {config.gpu.instance_type}"
    peak = _nodes(config, {p.name: p.max_replicas + (p.canary.replicas if p.canary else 0) for p in config.models})
    floor = _nodes(config, {p.name: _off_hours(config, p, p.min_replicas) for p in config.models})
    always = peak * gpus_per_node * HOURS_PER_MONTH
    scheduled = (peak * active + floor * (HOURS_PER_MONTH - active)) * gpus_per_node
    return always, scheduled, f"up to {peak} x {config.gpu.instance_type}"


def _standby_hours(config: StackConfig) -> tuple[float, float, str]:
    """GPU-hours per month of a warm standby region at its minimum, or zeros without one."""
    failover = failover_of(config)
    if failover is None or failover.standby_region is None:
        return 0.0, 0.0, ""
    active = schedule_hours(config.schedule)
    minimum = {p.name: min(failover.standby_min_replicas, p.max_replicas) for p in config.models}
    held = _nodes(config, minimum)
    floor = _nodes(config, {p.name: _off_hours(config, p, minimum[p.name]) for p in config.models})
    gpus_per_node = config.gpu.gpus
    always = held * gpus_per_node * HOURS_PER_MONTH
    scheduled = (held * active + floor * (HOURS_PER_MONTH - active)) * gpus_per_node
    return always, scheduled, f" + {held} x {config.gpu.instance_type} warm in {failover.standby_region}"


def stack_cost(config: StackConfig, region: str | None) -> StackCost:
    """The stack's monthly GPU cost in `region` (see the module docstring for what is counted)."""
    price = stack_gpu_price(config, region)
    if price is None:
        why = (
            "an existing server: set gpu.pricePerGpuHour to what an hour of it costs"
            if config.platform is Platform.HOST
            else f"no on-demand price for {config.gpu.instance_type}: set gpu.pricePerGpuHour"
        )
        return StackCost(CURRENCY, None, None, None, why)
    always, scheduled, counted = _instance_hours(config)
    standby_always, standby_scheduled, standby = _standby_hours(config)
    standby_price = price
    failover = failover_of(config)
    if standby and failover is not None and config.gpu.price_per_gpu_hour is None:
        standby_price = on_demand_gpu_price(config.gpu.instance_type, failover.standby_region) or price
    return StackCost(
        currency=price.currency,
        price_per_gpu_hour=price.per_gpu_hour,
        monthly_always_on=always * price.per_gpu_hour + standby_always * standby_price.per_gpu_hour,
        monthly_with_schedule=scheduled * price.per_gpu_hour + standby_scheduled * standby_price.per_gpu_hour,
        source=f"{counted}{standby}; {price.source}",
    )
