"""What a simulation tells users and the bill: the `--json` document, the text summary and the one-line verdict.

A minute is in SLO violation when its p99 end-to-end latency exceeds `slo.p99LatencySeconds`, its TTFT p95
exceeds `slo.ttftP95Seconds` (when set), or more of its requests failed (refused, timed out, cut) than
`slo.maxErrorRate` allows. GPU-hours are what the bill counts: GPU nodes from launch to deletion (a cluster llmscale
builds), the host while it runs, or the GPUs vLLM pods hold (a cluster llmscale does not manage). Always-on is
the most GPUs the run used, kept for the whole run; the saving is against that.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from llmscale.simulate import failover
from llmscale.simulate.peaks import replicas_for_rate
from llmscale.simulate.run import FLAP_WINDOW_SECONDS, RECOVERY_MINUTES, Run
from llmscale.simulate.stack import Slo
from llmscale.simulate.state import Minute, ScaleEvent
from llmscale.simulate.stats import Counts, Histogram

REPORT_FORMAT_VERSION = 1


def minute_violates(minute: Minute, slo: Slo) -> bool:
    """Whether a minute breaks the SLO (see the module docstring)."""
    counts = minute.counts
    if counts.arrivals <= 0 and counts.failed <= 0 and minute.latency.total <= 0:
        return False
    demand = max(counts.arrivals, counts.served + counts.failed)
    if demand > 0 and counts.failed / demand > slo.max_error_rate:
        return True
    p99 = minute.latency.percentile(0.99)
    if p99 is not None and p99 > slo.p99_seconds:
        return True
    if slo.ttft_p95_seconds is not None:
        ttft = minute.ttft.percentile(0.95)
        if ttft is not None and ttft > slo.ttft_p95_seconds:
            return True
    return False


def direction_changes(events: list[ScaleEvent]) -> list[float]:
    """Times at which a Deployment's scaling reversed direction within an hour of its previous change."""
    flips, last_direction, last_time = [], 0, None
    for event in events:
        direction = 1 if event.after > event.before else -1
        recent = last_time is not None and event.seconds - last_time <= FLAP_WINDOW_SECONDS
        if last_direction and direction != last_direction and recent:
            flips.append(event.seconds)
        last_direction, last_time = direction, event.seconds
    return flips


def most_in_an_hour(times: list[float]) -> int:
    """The most of these moments that fall within any one hour."""
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] > FLAP_WINDOW_SECONDS:
            first += 1
        best = max(best, last - first + 1)
    return best


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _counts(counts: Counts) -> dict[str, int]:
    return {
        "served": round(counts.served),
        "rejected": round(counts.rejected),
        "timedOut": round(counts.timed_out),
        "killed": round(counts.killed),
    }


def _failover(run: Run) -> dict[str, Any] | None:
    """The failover block: detection, the DNS switch, the RTO and what was lost.

    The RTO is the time from the failure until every client resolves the standby and the standby runs, ready, the
    replicas that serve within the SLO the load offered when the primary died, once settled (`replicas_for_rate`:
    the simulation's replica and request mix; its interactive profiles together; never more than their
    maxReplicaCount allows, `capacityCapped` then). None when that does not happen within the run. Lost requests
    are those that failed from the failure until the RTO, beyond the ones that failed in the same run without the
    failure (`Run.baseline`, same seed and arrivals). `peakReplicasNeeded` is the capacity planner's count for the
    declared peak (every request at the declared long lengths: the sizing figure, with its margin).
    """
    stack = run.stack
    if run.fail_minute is None or stack.failover is None or run.baseline is None or stack.standby is None:
        return None
    fail = run.fail_minute
    switch = failover.switch_seconds(stack.failover)
    first = fail + math.ceil(switch / 60)
    users = [s for s in stack.standby.servers if s.lane == "interactive"] or list(stack.standby.servers)
    keys = [f"standby/{s.name}" for s in users]
    window = run.baseline.minutes[fail : fail + RECOVERY_MINUTES]
    offered = sum(m.counts.arrivals for m in window) / (60 * max(1, len(window)))
    most = sum(s.scaler.max_replicas if s.scaler else s.replicas for s in users)
    model = next(w.model for w in run.workloads if w.key == keys[0])
    needed = replicas_for_rate(model, stack.slo, offered, most)
    target = most if needed is None else needed
    ready_at = next(
        (m for m in range(first, len(run.minutes)) if sum(run.minutes[m].ready.get(k, 0) for k in keys) >= target),
        None,
    )
    end = len(run.minutes) if ready_at is None else ready_at
    lost = sum(
        m.counts.failed - b.counts.failed
        for m, b in zip(run.minutes[fail:end], run.baseline.minutes[fail:end], strict=True)
    )
    standby = [w for w in run.workloads if w.site == "standby"]
    at_failure = run.minutes[fail].ready if fail < len(run.minutes) else {}
    return {
        "failAt": _clock(run, fail),
        "detectSeconds": round(failover.detect_seconds(stack.failover.primary)),
        "switchSeconds": round(switch),
        "rtoSeconds": None if ready_at is None else max(round(switch), (ready_at - fail) * 60),
        "lost": max(0, round(lost)),
        "offeredRequestsPerSecond": round(offered, 2),
        "replicasNeeded": target,
        "capacityCapped": needed is None,
        "peakReplicasNeeded": run.peak_replicas,
        "standbyReadyAtFailure": {w.key: at_failure.get(w.key, 0) for w in standby},
        "standbyReadyPeak": {
            w.key: max((m.ready.get(w.key, 0) for m in run.minutes[fail:]), default=0) for w in standby
        },
    }


def _clock(run: Run, minute: int) -> str:
    local = (run.start + timedelta(minutes=minute)).astimezone(ZoneInfo(run.stack.schedule.timezone))
    return local.strftime("%a %H:%M")


def build_report(run: Run) -> dict[str, Any]:
    """The `--json` document of a run."""
    stack, slo = run.stack, run.stack.slo
    zone = ZoneInfo(stack.schedule.timezone)
    totals = Counts()
    latency, ttft = Histogram(), Histogram()
    violations = [minute_violates(m, slo) for m in run.minutes]
    hourly = []
    for hour_start in range(0, len(run.minutes), 60):
        block = run.minutes[hour_start : hour_start + 60]
        counts, hour_latency = Counts(), Histogram()
        for minute in block:
            counts.add(minute.counts)
            hour_latency.merge(minute.latency)
            ttft.merge(minute.ttft)
        totals.add(counts)
        latency.merge(hour_latency)
        when = (run.start + timedelta(minutes=hour_start)).astimezone(zone)
        hourly.append(
            {
                "hour": when.isoformat(timespec="minutes"),
                "arrivals": round(counts.arrivals),
                **_counts(counts),
                "p50Seconds": _round(hour_latency.percentile(0.5)),
                "p99Seconds": _round(hour_latency.percentile(0.99)),
                "replicas": {w.key: max((m.ready.get(w.key, 0) for m in block), default=0) for w in run.workloads},
                "gpus": round(sum(m.gpus for m in block) / len(block), 2),
                "sloViolationMinutes": sum(violations[hour_start : hour_start + 60]),
            }
        )
    hours = len(run.minutes) / 60
    gpu_hours = run.gpu_seconds / 3600
    always_on = run.peak_gpus * hours
    events = [e for w in run.workloads for e in w.events]
    flips = {w.key: direction_changes(w.events) for w in run.workloads}
    document: dict[str, Any] = {
        "formatVersion": REPORT_FORMAT_VERSION,
        "stack": stack.name,
        "tier": stack.tier,
        "platform": stack.platform,
        "days": round(hours / 24, 3),
        "seed": run.options.seed,
        "traffic": run.traffic_description,
        "gpuHours": round(gpu_hours, 2),
        "gpuHoursAlwaysOn": round(always_on, 2),
        "savingPercent": round(100 * (1 - gpu_hours / always_on), 1) if always_on > 0 else 0.0,
        "peakGpus": round(run.peak_gpus),
        "requests": _counts(totals),
        "rejections": {
            "rateLimited": round(totals.rate_limited),
            "overload": round(totals.overload),
            "noReplica": round(totals.no_replica),
            "regionDown": round(totals.region_down),
        },
        "killedBy": {cause: round(count, 2) for cause, count in sorted(run.killed_by.items()) if count > 0},
        "arrivals": round(totals.arrivals),
        "sloViolationMinutes": sum(violations),
        "p50Seconds": _round(latency.percentile(0.5)),
        "p99Seconds": _round(latency.percentile(0.99)),
        "ttftP95Seconds": _round(ttft.percentile(0.95)),
        "slo": {
            "p99Seconds": slo.p99_seconds,
            "ttftP95Seconds": slo.ttft_p95_seconds,
            "maxErrorRate": slo.max_error_rate,
        },
        "scaleEvents": len(events),
        "flaps": sum(len(f) for f in flips.values()),
        "maxDirectionChangesPerHour": max((most_in_an_hour(f) for f in flips.values()), default=0),
        "nodeScaleEvents": sum(s.node_events for s in run.sites),
        "workloads": [
            {
                "site": w.site,
                "name": w.server.name,
                "profile": w.server.profile,
                "scaleEvents": len(w.events),
                "flaps": len(flips[w.key]),
                "readyMax": max((m.ready.get(w.key, 0) for m in run.minutes), default=0),
                "readyMin": min((m.ready.get(w.key, 0) for m in run.minutes), default=0),
                "startupRestarts": w.restarts,
                "pendingMinutes": round(w.pending_seconds / 60),
            }
            for w in run.workloads
        ],
        "hourly": hourly,
        "failover": _failover(run),
        "notes": list(dict.fromkeys(_notes(run, totals))),
    }
    price = run.options.price_per_gpu_hour
    if price is not None:
        document["cost"] = {
            "pricePerGpuHour": price,
            "withSchedule": round(gpu_hours * price, 2),
            "alwaysOn": round(always_on * price, 2),
        }
    return document


def _notes(run: Run, totals: Counts) -> list[str]:
    notes = list(run.notes)
    if totals.rate_limited > 0:
        notes.append(
            f"per-key rate limits assume the traffic comes with {run.options.clients} API key(s) "
            "(--clients spreads it over more)"
        )
    return notes


def verdict(document: dict[str, Any]) -> str:
    """`ok` or what needs attention, in a few words."""
    problems = []
    requests = document["requests"]
    if requests["killed"]:
        problems.append(f"{requests['killed']} requests cut in flight")
    if document["sloViolationMinutes"]:
        problems.append(f"{document['sloViolationMinutes']} minutes in SLO violation")
    if document["maxDirectionChangesPerHour"] > 2:
        problems.append(f"scaling flaps ({document['maxDirectionChangesPerHour']} reversals in an hour)")
    return "ok" if not problems else "attention: " + ", ".join(problems)


REJECTION_REASONS = {
    "rateLimited": "mostly 429 from the per-key rate limit",
    "overload": "mostly 503 from full queues",
    "noReplica": "mostly 503 with no replica up",
    "regionDown": "mostly to the failed region",
}


def summary_line(document: dict[str, Any]) -> str:
    """One line: GPU-hours and saving, p99 against the SLO, what happened to requests, the verdict."""
    requests = document["requests"]
    total = max(1, document["arrivals"])
    rejected = 100 * requests["rejected"] / total
    reasons = document["rejections"]
    main = max(reasons, key=lambda key: reasons[key]) if requests["rejected"] else None
    why = f" ({REJECTION_REASONS[main]})" if main else ""
    p99 = document["p99Seconds"]
    return (
        f"{document['gpuHours']:g} GPU-hours ({document['savingPercent']:g} % below always-on), "
        f"p99 {'n/a' if p99 is None else f'{p99:g} s'} (SLO {document['slo']['p99Seconds']:g} s), "
        f"{requests['served']} served, {rejected:.2f} % rejected{why}, {requests['timedOut']} timed out, "
        f"{requests['killed']} killed: {verdict(document)}"
    )


def render_text(document: dict[str, Any]) -> str:
    """The human summary of a report (stderr)."""
    days = document["days"]
    lines = [
        f"Simulated {days:g} day{'s' if days != 1 else ''} of stack {document['stack']} "
        f"(tier {document['tier']}, seed {document['seed']}): {document['traffic']}",
        f"  {summary_line(document)}",
        f"  GPU-hours {document['gpuHours']:g} (always-on {document['gpuHoursAlwaysOn']:g}, peak "
        f"{document['peakGpus']} GPUs); SLO violation minutes {document['sloViolationMinutes']}",
    ]
    if "cost" in document:
        cost = document["cost"]
        lines.append(f"  cost ${cost['withSchedule']:,.2f} (always-on ${cost['alwaysOn']:,.2f})")
    rejections = document["rejections"]
    lines.append(
        "  rejected: "
        + ", ".join(f"{key} {value}" for key, value in rejections.items())
        + f"; scale events {document['scaleEvents']} (flaps {document['flaps']}), node events "
        f"{document['nodeScaleEvents']}"
    )
    for work in document["workloads"]:
        lines.append(
            f"  {work['site']}/{work['name']}: ready {work['readyMin']}-{work['readyMax']}, "
            f"{work['scaleEvents']} scale events, {work['flaps']} flaps"
            + (f", {work['startupRestarts']} startup-probe restarts" if work["startupRestarts"] else "")
            + (f", {work['pendingMinutes']} min pending for a node" if work["pendingMinutes"] else "")
        )
    fail = document["failover"]
    if fail is not None:
        rto = "not within the run" if fail["rtoSeconds"] is None else f"{fail['rtoSeconds']} s"
        lines.append(
            f"  failover at {fail['failAt']}: detected after {fail['detectSeconds']} s, clients switched after "
            f"{fail['switchSeconds']} s, RTO {rto}, {fail['lost']} requests lost"
        )
    lines.extend(f"  note: {note}" for note in document["notes"])
    return "\n".join(lines)
