"""The simulation loop: traffic through gateways into vLLM replicas, with KEDA, the HPA, the cluster autoscaler,
pod termination and Route 53 failover acting on them, in steps of five seconds.

Requests are a fluid within a step (counts may be fractional; reports round them) while arrivals are Poisson
draws, controllers act at their own periods (the HPA every 15 s, KEDA every `pollingInterval`, the cluster
autoscaler every scan interval, Prometheus every scrape interval), and pods and nodes come and go one by one.
Load spreads evenly over a profile's ready replicas (the gateway's least-request balancing; sticky sessions
spread less evenly than this). A replica's requests are served by processor sharing on the planner's speed
model; a request's latency is its wait for a seat in the batch plus its own prefill and decode time.

When a replica is deleted (scale-down, drain, schedule), its share of the requests in flight goes with it: each
still has a remaining time spread evenly over its length, and those that would outlast the kill deadline
(`llmscale.simulate.vllm.kill_deadline`) are cut; the rest finish.
"""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import timedelta

from llmscale.simulate import cron, failover, gateway, hpa, vllm
from llmscale.simulate.peaks import peak_rate_per_minute, peak_replicas
from llmscale.simulate.run import STEP_SECONDS, Options, Run, reference_start
from llmscale.simulate.setup import SiteSetup
from llmscale.simulate.stack import SimStack, SimulationError
from llmscale.simulate.state import PENDING, Minute, RouteState, SiteState, Workload
from llmscale.simulate.stats import Counts, bin_index
from llmscale.simulate.traffic import Traffic, business_day, poisson, poisson_from_uniform


class Simulation(SiteSetup):
    """One run over a stack; `run()` plays it and returns the record."""

    def __init__(self, stack: SimStack, options: Options) -> None:
        self.stack = stack
        self.options = options
        self.notes: list[str] = list(stack.notes)
        self.dt = STEP_SECONDS
        self.start = reference_start(stack.schedule.timezone)
        self.warm = max(0, options.warm_up_minutes)
        self.recorded = max(1, round(options.days * 1440))
        self.total_minutes = self.warm + self.recorded
        self.origin = self.start - timedelta(minutes=self.warm)  # minute 0 of the loop
        self.rng = random.Random(options.seed)
        self.gauges = random.Random(options.seed + 1_000_003)
        self._site_of: dict[int, SiteState] = {}
        self.sites = [self._site_state(site) for site in stack.sites]
        self.workloads = [w for s in self.sites for w in s.workloads]
        for work in self.workloads:
            if work.model.bandwidth_estimate:
                self.notes.append(
                    f"{work.server.model} on {stack.instance_type}: throughput is the planner's memory-bandwidth "
                    "estimate (no vLLM measurement for this GPU); calibrate with `vllm bench serve`"
                )
        primary_users = [w for w in self.sites[0].workloads if w.server.lane == "interactive"] or self.sites[
            0
        ].workloads
        first = primary_users[0]
        self.peak_per_minute, note = peak_rate_per_minute(stack, first.model, first.server, options.calibration)
        self.peak_replicas = peak_replicas(stack, first.server, options.calibration)
        if note:
            self.notes.append(note)
        self.traffic = options.traffic or Traffic(
            {"*": business_day(stack.schedule, self.peak_per_minute, self.origin, self.total_minutes, options.seed)},
            poisson=True,
            description=f"built-in business day, peak {self.peak_per_minute / 60:.2f} req/s "
            f"({stack.load.users} users, think {stack.load.think_seconds:g} s)",
        )
        if options.traffic is not None:
            # Given traffic starts at Monday 00:00, after the warm-up.
            self.traffic = dataclasses.replace(options.traffic, offset=self.warm)
            streams = {r.stream for s in self.sites for r in s.routes}
            unknown = sorted(set(options.traffic.per_minute) - streams - {"*"})
            if unknown:
                raise SimulationError(
                    f"traffic for {', '.join(unknown)}: no such profile behind the stack's routes "
                    f"(profiles: {', '.join(sorted(streams))})"
                )
        self.fail_at = None
        if options.fail_minute is not None:
            if stack.failover is None or stack.standby is None:
                raise SimulationError("--fail-region: the stack has no standby region and DNS failover to fail over to")
            self.fail_at = (self.warm + options.fail_minute) * 60.0
        self.minutes = [Minute() for _ in range(self.recorded)]
        self.gpu_seconds = 0.0
        self.killed_by: dict[str, float] = {}
        self.peak_gpus = 0.0

    def _serve(self, work: Workload, admitted: float, minute: Minute | None) -> None:
        """One step of processor sharing on the ready replicas (see the module docstring and `evolve`)."""
        n = work.ready
        start = work.in_flight
        if n <= 0 or start + admitted <= 1e-9:
            work.in_flight = work.running = 0.0
            return
        model = work.model
        dt = self.dt
        seats = n * model.seats
        arrival = admitted / dt
        rho = model.prefill_share(arrival / n)
        busy = min(max(start, arrival * work.last_mean), seats)
        step = model.step_seconds(busy / n, rho)
        per_token = 1.0 / (model.prefill_tokens_per_second * (1.0 - rho))
        latencies = tuple(k.prompt_tokens * per_token + k.output_tokens * step for k in model.classes)
        mean = sum(k.share * s for k, s in zip(model.classes, latencies, strict=True))
        end = evolve(start, arrival, mean, seats, dt)
        if end < 1e-3:
            end = 0.0
        done = max(0.0, start + admitted - end)
        queued = max(0.0, (start + end) / 2 - seats)
        wait = queued * mean / seats
        work.last_latencies, work.last_wait, work.last_mean = latencies, wait, mean
        work.in_flight = end
        work.running = min(end, seats)
        if minute is None or done <= 0:
            return
        timed_out_before = minute.counts.timed_out
        timeout = self._timeout(work)
        counts = minute.counts
        latency_hist, ttft_hist = minute.latency, minute.ttft
        latency_bins, ttft_bins = latency_hist.bins, ttft_hist.bins
        for k, service in zip(model.classes, latencies, strict=True):
            count = done * k.share
            latency = wait + service
            if latency > timeout:
                counts.timed_out += count
                continue
            counts.served += count
            index = bin_index(latency)
            latency_bins[index] = latency_bins.get(index, 0.0) + count
            first = bin_index(wait + k.prompt_tokens * per_token + step)
            ttft_bins[first] = ttft_bins.get(first, 0.0) + count
        latency_hist.total += done - (counts.timed_out - timed_out_before)
        ttft_hist.total += done - (counts.timed_out - timed_out_before)

    def _offer(self, state: SiteState, route: RouteState, arrivals: float, now: float, minute: Minute | None) -> None:
        counts = minute.counts if minute is not None else Counts()
        counts.arrivals += arrivals
        if not state.up:
            counts.region_down += arrivals
            return
        allowed = route.limiter.admit(now, arrivals) if route.limiter is not None else arrivals
        counts.rate_limited += arrivals - allowed
        r = route.route
        in_flight = sum(w.in_flight for w, _ in route.backends)
        room = gateway.parallel_limit(r, state.site.envoy_replicas) - in_flight
        passed = min(allowed, max(0.0, room))
        counts.overload += allowed - passed
        for work, weight in route.backends:
            offered = passed * weight
            if work.ready <= 0:
                counts.no_replica += offered
                self._serve(work, 0.0, minute)
                continue
            admitted = vllm.admitted(offered, work.in_flight, work.ready, work.model.queue_limit)
            refused = offered - admitted
            if refused > 0:
                completions = work.running / work.last_mean if work.last_mean > 0 else 0.0
                extra = min(refused, gateway.retry_capacity(r, completions, work.in_flight))
                admitted += extra
                refused -= extra
            counts.overload += refused
            self._serve(work, admitted, minute)

    # --- the loop -----------------------------------------------------------------------------------------

    def run(self) -> Run:
        """Play the whole run and return what it recorded."""
        dt = self.dt
        steps = int(self.total_minutes * 60 / dt)
        per_minute = int(60 / dt)
        self._timeouts = {
            w.key: route.route.timeout_seconds for s in self.sites for route in s.routes for w, _ in route.backends
        }
        self._host_starts: dict[int, set[int]] = {}
        self._host_stops: dict[int, set[int]] = {}
        for state in self.sites:
            schedule = state.site.host_schedule
            if schedule is not None:
                self._host_starts[id(state)] = set(
                    cron.fire_minutes(
                        cron.parse_eventbridge(schedule.start), schedule.timezone, self.origin, self.total_minutes
                    )
                )
                self._host_stops[id(state)] = set(
                    cron.fire_minutes(
                        cron.parse_eventbridge(schedule.stop), schedule.timezone, self.origin, self.total_minutes
                    )
                )
        hpa_every = max(1, round(hpa.SYNC_PERIOD_SECONDS / dt))
        controllers = [
            (
                state,
                [
                    (
                        work,
                        max(1, round(work.server.scrape_seconds / dt)),
                        max(1, round(work.server.scaler.polling_seconds / dt)) if work.server.scaler else 0,
                    )
                    for work in state.workloads
                ],
                max(1, round(state.site.autoscaler.scan_interval / dt)) if state.site.autoscaler else 0,
            )
            for state in self.sites
        ]
        primary, standby = self.sites[0], (self.sites[1] if len(self.sites) > 1 else None)
        rates = {
            id(route): [
                self.traffic.rate(route.stream, m) + route.share * self.traffic.rate("*", m)
                for m in range(self.total_minutes)
            ]
            for route in primary.routes
        }
        twins = {
            id(route): next((r for r in standby.routes if r.stream == route.stream), None) if standby else None
            for route in primary.routes
        }
        rng = self.rng
        poisson_traffic = self.traffic.poisson
        minutes = self.minutes
        warm = self.warm
        fail_at = self.fail_at
        for step in range(steps):
            now = step * dt
            minute_index = step // per_minute
            first_of_minute = step % per_minute == 0
            recorded = minute_index - warm
            minute = minutes[recorded] if recorded >= 0 else None
            share = 0.0
            if fail_at is not None and now >= fail_at:
                if primary.up:
                    self._fail(primary, minute)
                if standby is not None:
                    healthy = any(w.ready > 0 for w in standby.workloads)
                    share = failover.switched_share(self.stack.failover, now - fail_at, healthy)
            for state in self.sites:
                if not state.up:
                    continue
                if first_of_minute and state.site.host_schedule is not None:
                    self._host_schedule(state, minute_index, now, minute)
                if now >= state.next_event:
                    self._lifecycle(state, now)
                if state.pending > 0:
                    self._schedule(state, now)
            # traffic: every stream's arrivals for this step, to the primary or (after a failure) the standby
            for route in primary.routes:
                rate = rates[id(route)][minute_index]
                if rate <= 0:
                    for work, _ in route.backends:
                        if work.in_flight > 0:
                            self._serve(work, 0.0, minute)
                    continue
                mean = rate * dt / 60
                arrivals = float(poisson(rng, mean)) if poisson_traffic else mean
                if share > 0:
                    moved = arrivals * share
                    twin = twins[id(route)]
                    if twin is not None:
                        self._offer(standby, twin, moved, now, minute)
                        arrivals -= moved
                self._offer(primary, route, arrivals, now, minute)
            if standby is not None and share <= 0:
                for route in standby.routes:
                    for work, _ in route.backends:
                        if work.in_flight > 0:
                            self._serve(work, 0.0, minute)
            # controllers
            for state, works, scan in controllers:
                if not state.up:
                    continue
                for work, scrape, polling in works:
                    if step % scrape == 0:
                        self._scrape(state, work)
                    if polling == 0:
                        continue
                    if step % polling == 0:
                        self._keda(state, work, now, minute_index, minute)
                    if step % hpa_every == 0:
                        self._hpa(state, work, now, minute_index, minute)
                if scan and step % scan == 0:
                    self._cluster_autoscaler(state, now, minute)
                if first_of_minute:
                    # a pod the target lost to an eviction is replaced
                    for work, _, _ in works:
                        self._reconcile(state, work, now, minute)
            gpus = self._billed_gpus()
            if minute is not None:
                self.gpu_seconds += gpus * dt
                if gpus > self.peak_gpus:
                    self.peak_gpus = gpus
                if step % per_minute == per_minute - 1:
                    minute.gpus = gpus
                    minute.standby_share = share
                    minute.ready = {w.key: w.ready for w in self.workloads}
        return Run(
            stack=self.stack,
            options=self.options,
            start=self.start,
            minutes=self.minutes,
            gpu_seconds=self.gpu_seconds,
            peak_gpus=self.peak_gpus,
            workloads=self.workloads,
            sites=self.sites,
            peak_per_minute=self.peak_per_minute,
            peak_replicas=self.peak_replicas,
            traffic_description=self.traffic.description,
            fail_minute=self.options.fail_minute,
            notes=self.notes,
            killed_by=self.killed_by,
        )

    def _scrape(self, state: SiteState, work: Workload) -> None:
        """What Prometheus reads from the replicas: whole requests. The fluid's in-flight count is a mean; the
        number in a processor-sharing system with Poisson arrivals is Poisson-distributed around it."""
        seen = poisson_from_uniform(self.gauges.random(), work.in_flight)
        seats = work.ready * work.model.seats
        work.scraped_running = float(min(seen, seats))
        work.scraped_waiting = float(seen) - work.scraped_running
        state.metric_sums = None

    def _fail(self, state: SiteState, minute: Minute | None) -> None:
        """The region dies: every request in flight there is lost, and nothing there runs or bills any more."""
        state.up = False
        for work in state.workloads:
            if minute is not None:
                minute.counts.killed += work.in_flight
                self.killed_by["region-failure"] = self.killed_by.get("region-failure", 0.0) + work.in_flight
            work.in_flight = work.running = 0.0
            work.ready = 0

    def _billed_gpus(self) -> float:
        total = 0.0
        for state in self.sites:
            if not state.up:
                continue
            if state.billing_dirty:
                state.billing_dirty = False
                if state.site.single_host:
                    running = state.host_running or any(p.state != PENDING for w in state.workloads for p in w.pods)
                    state.billed = state.site.gpus_per_node if running else 0.0
                elif state.site.node_groups:
                    state.billed = float(sum(node.gpus for node in state.node_list))
                else:
                    state.billed = float(
                        sum(w.server.gpus_per_replica for w in state.workloads for p in w.pods if p.state != PENDING)
                    )
            total += state.billed
        return total


def simulate(stack: SimStack, options: Options | None = None, baseline: Run | None = None) -> Run:
    """Play a stack through the simulation (see the module docstring) and return what it recorded.

    With a region failure, the same run without the failure (same seed, same arrivals) is kept as `baseline`:
    what the users would have had, to tell when service is restored. A caller that has played it already passes
    it in.
    """
    options = options or Options()
    run = Simulation(stack, options).run()
    if options.fail_minute is not None:
        run.baseline = baseline or Simulation(stack, dataclasses.replace(options, fail_minute=None)).run()
    return run


def evolve(in_flight: float, arrival_rate: float, mean_seconds: float, seats: float, dt: float) -> float:
    """Requests in flight after `dt` seconds: arrivals at a constant rate, processor sharing in `seats` seats.

    Below the seats every request runs and leaves at rate N / S (dN/dt = λ - N/S: exponential approach to
    Little's λS); with more requests than seats the batch is full and completions run at seats / S (linear).
    """
    if mean_seconds <= 0:
        return 0.0
    steady = arrival_rate * mean_seconds
    if in_flight <= seats:
        if steady <= seats:
            return steady + (in_flight - steady) * math.exp(-dt / mean_seconds)
        reach = mean_seconds * math.log((steady - in_flight) / (steady - seats))
        if reach >= dt:
            return steady + (in_flight - steady) * math.exp(-dt / mean_seconds)
        return seats + (arrival_rate - seats / mean_seconds) * (dt - reach)
    drain = seats / mean_seconds - arrival_rate
    linear = in_flight - drain * dt
    if drain <= 0 or linear >= seats:
        return linear
    reach = (in_flight - seats) / drain
    return steady + (seats - steady) * math.exp(-(dt - reach) / mean_seconds)
