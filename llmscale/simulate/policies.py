"""Policies from simulation: rules over a simulated business day of the stack's own planned objects.

Each rule plays the stack's Monday (built-in business day, seed 0, traffic through one API key, as `llmscale
simulate STACK` does by default) and, for a stack with DNS failover, the same day with the primary region failing
during the morning peak. The runs are shared by the rules of one inventory. A stack the simulator cannot play
(no settings record, a trigger it does not know) yields no finding here: the other policies speak about it.

- `night_kills`: the night schedule (KEDA's scale to zero, the host's EventBridge stop) would cut requests in flight.
- `scale_flapping`: a Deployment's scaling reverses direction more than `FLAP_LIMIT` times within an hour.
- `failover_rto`: restoring service on the standby takes longer than the availability target allows in a month.
- `morning_ramp`: when the active window opens, fewer replicas are ready than the schedule asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from llmscale.policy.model import Finding, Inventory
from llmscale.simulate.engine import simulate
from llmscale.simulate.report import build_report, direction_changes, most_in_an_hour
from llmscale.simulate.run import Options, Run, reference_start
from llmscale.simulate.stack import SimStack, SimulationError, stack_from_inventory
from llmscale.simulate.traffic import business_share

FLAP_LIMIT = 2  # direction changes within an hour: up-down-up is already one too many
MONTH_SECONDS = 30 * 86400
WARM_UP_MINUTES = 120
NIGHT_CAUSES = ("scale-to-zero", "schedule")


@dataclass
class Simulated:
    """The day (and failover) runs of one inventory, with their reports."""

    stack: SimStack
    day: Run
    day_report: dict[str, Any]
    failover_report: dict[str, Any] | None


_last: tuple[Inventory, Simulated | None] | None = None


def peak_minute(stack: SimStack) -> int:
    """The first minute of Monday at the business day's full load (after the morning ramp)."""
    start = reference_start(stack.schedule.timezone)
    zone = ZoneInfo(stack.schedule.timezone)
    for minute in range(1440):
        if business_share(stack.schedule, (start + timedelta(minutes=minute)).astimezone(zone)) >= 1.0:
            return minute
    return 10 * 60


def simulated(inventory: Inventory) -> Simulated | None:
    """The runs the rules share, computed once per inventory object (None when the stack cannot be played)."""
    global _last
    if _last is not None and _last[0] is inventory:
        return _last[1]
    result: Simulated | None
    try:
        stack = stack_from_inventory(inventory)
        day = simulate(stack, Options(days=1, warm_up_minutes=WARM_UP_MINUTES))
        fail = None
        if stack.failover is not None and stack.standby is not None:
            fail_at = Options(days=1, fail_minute=peak_minute(stack), warm_up_minutes=WARM_UP_MINUTES)
            failing = simulate(stack, fail_at, baseline=day)
            fail = build_report(failing)
        result = Simulated(stack, day, build_report(day), fail)
    except SimulationError:
        result = None
    _last = (inventory, result)
    return result


def night_kills(inventory: Inventory) -> Iterator[Finding]:
    """The night schedule does not cut requests in flight: scaling to zero and stopping the host wait for the
    requests that are running (a trigger that counts running requests, and a drain within the grace period)."""
    sim = simulated(inventory)
    if sim is None:
        return
    for work in sim.day.workloads:
        cut = sum(work.killed_by.get(cause, 0.0) for cause in NIGHT_CAUSES)
        if cut >= 0.5:
            how = "stopping the host" if "schedule" in work.killed_by else "scaling it to zero"
            yield Finding(
                f"a simulated business day cuts {cut:.0f} request(s) in flight on {work.key} when the night "
                f"schedule takes it down ({how}): count running requests in a trigger and drain for the longest "
                "request (vLLM --shutdown-timeout, terminationGracePeriodSeconds, the host's stop grace)",
                work.server.resource or None,
            )


def scale_flapping(inventory: Inventory) -> Iterator[Finding]:
    """Scaling settles: a Deployment's replicas do not reverse direction more than twice within an hour."""
    sim = simulated(inventory)
    if sim is None:
        return
    for work in sim.day.workloads:
        flips = most_in_an_hour(direction_changes(work.events))
        if flips > FLAP_LIMIT:
            yield Finding(
                f"{work.key} reverses its scaling {flips} times within an hour of a simulated business day: "
                "replicas are added and removed faster than they load; lengthen the scale-down stabilization "
                "window (autoscaling.scaleDownStabilizationSeconds) beyond the cold start and the bursts",
                work.server.resource or None,
            )


def failover_rto(inventory: Inventory) -> Iterator[Finding]:
    """A region failure at the morning peak is recovered on the standby within the downtime the availability
    target allows in a month."""
    sim = simulated(inventory)
    if sim is None or sim.failover_report is None:
        return
    block = sim.failover_report["failover"]
    allowed = (1 - sim.stack.slo.availability) * MONTH_SECONDS
    rto = block["rtoSeconds"]
    if rto is None or rto > allowed:
        said = "does not recover within the simulated day" if rto is None else f"recovers after {rto} s"
        yield Finding(
            f"with the primary region failing at {block['failAt']}, the standby {said}; availability "
            f"{sim.stack.slo.availability:g} allows {allowed:.0f} s of downtime a month: raise the standby's "
            "minimum replicas (failover.standbyMinReplicas) or shorten detection and TTL"
        )


def morning_ramp(inventory: Inventory) -> Iterator[Finding]:
    """Capacity is ready when the active window opens: the cron window (or the host's start) leads the users by
    at least the cold start."""
    sim = simulated(inventory)
    if sim is None or not sim.stack.schedule.enabled:
        return
    opening = _opening_minute(sim.stack)
    if opening is None or opening >= len(sim.day.minutes):
        return
    ready = sim.day.minutes[opening].ready
    for work in sim.day.workloads:
        if work.site != "primary" or work.server.lane != "interactive":
            continue
        scaler = work.server.scaler
        wanted = max([t.desired_replicas for t in scaler.cron], default=scaler.min_replicas) if scaler else 1
        have = ready.get(work.key, 0)
        if have < wanted:
            minutes = sim.day.minutes
            late = next(
                (m - opening for m in range(opening, len(minutes)) if minutes[m].ready.get(work.key, 0) >= wanted), None
            )
            when = "not within the day" if late is None else f"{late} min after it opens"
            yield Finding(
                f"when the active window opens at {sim.stack.schedule.start} ({sim.stack.schedule.timezone}), "
                f"{work.key} has {have} of {wanted} replica(s) ready ({when}): start capacity earlier "
                "(schedule.warmUpMinutes; eks.scaleUpLeadMinutes on the EKS cluster llmscale builds)",
                work.server.resource or None,
            )


def _opening_minute(stack: SimStack) -> int | None:
    """The first minute of Monday's active window, if Monday is an active day."""
    if "mon" not in stack.schedule.days:
        return None
    hours, minutes = stack.schedule.start.split(":")
    return int(hours) * 60 + int(minutes)
