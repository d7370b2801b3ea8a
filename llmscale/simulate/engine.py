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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from llmscale.simulate import cron, failover, gateway, hpa, keda, nodes, vllm
from llmscale.simulate.cluster import Cluster
from llmscale.simulate.stack import Server, SimStack, SimulationError, Site, Slo
from llmscale.simulate.state import PENDING, READY, Minute, Pod, RouteState, SiteState, Workload
from llmscale.simulate.stats import Counts, bin_index
from llmscale.simulate.traffic import Traffic, business_day, poisson, poisson_from_uniform
from llmscale.simulate.vllm import ReplicaModel, replica_model
from llmscale.sizing.calibration import CalibrationError, CalibrationPoint, parse_quantization
from llmscale.sizing.planner import TENSOR_PARALLEL_SIZES, SizingError, SizingInputs, size

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


def planner_inputs(stack: SimStack, server: Server, prompt_tokens: float, output_tokens: float) -> SizingInputs:
    """The capacity planner's inputs for a server of the stack at its declared peak, with these request lengths."""
    load, slo = stack.load, stack.slo
    least = next((tp for tp in TENSOR_PARALLEL_SIZES if tp >= server.gpus_per_replica), 8)
    return SizingInputs(
        users=load.users,
        prompt_tokens=max(1, round(prompt_tokens)),
        output_tokens=max(1, round(output_tokens)),
        model=server.model,
        quantization=parse_quantization(server.quantization),
        gpu=stack.instance_type,
        p99_seconds=slo.p99_seconds,
        ttft_seconds=slo.ttft_p95_seconds,
        think_time_seconds=load.think_seconds,
        max_num_seqs=server.max_num_seqs,
        gpu_memory_utilization=min(0.98, max(0.11, server.gpu_memory_utilization)),
        min_gpus_per_replica=least,
        max_gpus_per_replica=least,
    )


def peak_rate_per_minute(stack: SimStack, model: ReplicaModel, server: Server) -> tuple[float, str | None]:
    """Requests per minute at the declared peak: the planner's closed-loop rate for the declared users (who think
    between requests) at the mix's mean request; without a planner answer, users / (think time + p99)."""
    try:
        result = size(planner_inputs(stack, server, model.mean_prompt, model.mean_output))
        return result.requests_per_second * 60, None
    except (SizingError, CalibrationError, ValueError) as error:
        rate = stack.load.users / (stack.load.think_seconds + stack.slo.p99_seconds)
        return rate * 60, f"peak request rate is users / (think time + p99 SLO): the planner cannot size it ({error})"


def replicas_for_rate(model: ReplicaModel, slo: Slo, requests_per_second: float, most: int) -> int | None:
    """The fewest ready replicas that serve this rate within the SLO once settled, or None when `most` do not.

    The simulation's own replica (`vllm.steady_state`) with the request mix it plays, the load spread evenly: the
    p99 of the mix's end-to-end latency within `slo.p99LatencySeconds` and its TTFT p95 within
    `slo.ttftP95Seconds`. The planner answers another question: it sizes every request at the declared long
    lengths (the mix's 99th percentile), so its count for the same rate is several times this one, more than
    an autoscaler that follows the load ever runs.
    """
    if requests_per_second <= 0:
        return 0
    for replicas in range(1, most + 1):
        settled = vllm.steady_state(model, requests_per_second / replicas)
        if settled is None or settled.latency(0.99) > slo.p99_seconds:
            continue
        if slo.ttft_p95_seconds is None or settled.first_token(0.95) <= slo.ttft_p95_seconds:
            return replicas
    return None


def peak_replicas(stack: SimStack, server: Server) -> int | None:
    """Replicas the planner says serve the declared peak within the SLO (declared request lengths), or None."""
    try:
        return size(planner_inputs(stack, server, stack.load.prompt_tokens, stack.load.output_tokens)).replicas
    except (SizingError, CalibrationError, ValueError):
        return None


class Simulation(Cluster):
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
        self.peak_per_minute, note = peak_rate_per_minute(stack, primary_users[0].model, primary_users[0].server)
        self.peak_replicas = peak_replicas(stack, primary_users[0].server)
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

    # --- set-up -------------------------------------------------------------------------------------------

    def _site_state(self, site: Site) -> SiteState:
        workloads = []
        for server in site.servers:
            model = replica_model(server, self.stack.instance_type, self.stack.load, self.options.calibration)
            work = Workload(server=server, model=model, site=site.name, target=server.replicas)
            scaler = server.scaler
            if scaler is not None:
                work.executor = keda.Executor(
                    min_replicas=scaler.min_replicas,
                    cooldown_seconds=int(scaler.cooldown_seconds),
                    initial_cooldown_seconds=int(scaler.initial_cooldown_seconds),
                    idle_replicas=scaler.idle_replicas,
                    created_at=-math.inf,
                )
                work.autoscaler = hpa.Hpa(
                    min_replicas=keda.hpa_min_replicas(scaler.min_replicas),
                    max_replicas=scaler.max_replicas,
                    scale_up=scaler.scale_up,
                    scale_down=scaler.scale_down,
                )
                try:
                    work.windows = tuple(
                        cron.keda_window(t.start, t.end, t.timezone, self.origin, self.total_minutes)
                        for t in scaler.cron
                    )
                except (cron.CronError, KeyError) as error:
                    raise SimulationError(f"ScaledObject/{scaler.name}: cron trigger: {error}") from None
            workloads.append(work)
        by_name = {w.server.name: w for w in workloads}
        interactive_routes = []
        routes = []
        for route in site.routes:
            backends = [(by_name[name], weight) for name, weight in route.backends if name in by_name]
            total = sum(weight for _, weight in backends) or 1.0
            backends = [(w, weight / total) for w, weight in backends]
            profile = backends[0][0].server.profile if backends else route.name
            state = RouteState(
                route=route,
                stream=profile,
                share=0.0,
                backends=backends,
                limiter=gateway.rate_limiter(route, self.options.clients, site.envoy_replicas),
            )
            if backends and backends[0][0].server.lane == "interactive":
                interactive_routes.append(state)
            routes.append(state)
        for state in interactive_routes:
            state.share = 1.0 / len(interactive_routes)
        site_state = SiteState(site=site, workloads=workloads, routes=routes)
        for work in workloads:
            self._site_of[id(work)] = site_state
        self._initial_nodes(site_state)
        return site_state

    def _initial_nodes(self, state: SiteState) -> None:
        site = state.site
        if site.single_host:
            node = nodes.Node(group=-1, zone="host", gpus=site.gpus_per_node, ready_at=0.0)
            state.node_list.append(node)
            state.host_running = self._host_running_at_start(site)
            if not state.host_running:
                node.ready_at = math.inf
                for work in state.workloads:
                    work.target = 0
        else:
            for index, group in enumerate(site.node_groups):
                for _ in range(max(group.desired_size, group.min_size)):
                    state.node_list.append(
                        nodes.Node(group=index, zone=group.zone, gpus=group.gpus_per_node, ready_at=0.0)
                    )
        for work in state.workloads:
            for _ in range(work.target):
                pod = Pod(state=PENDING)
                work.pods.append(pod)
                node = self._pick_node(state, work, 0.0)
                if node is None and not site.node_groups and not site.single_host:
                    node = self._virtual_node(work, 0.0)
                if node is None:
                    group = self._group_for(state, work, set())
                    if group is None:
                        state.pending += 1
                        continue
                    node = nodes.Node(
                        group=group,
                        zone=site.node_groups[group].zone,
                        gpus=site.node_groups[group].gpus_per_node,
                        ready_at=0.0,
                    )
                    state.node_list.append(node)
                node.used += work.server.gpus_per_replica
                node.images.add(work.server.image)
                node.models.add(work.server.model)
                state.site_models.add(work.server.model)
                pod.node, pod.state, pod.ready_at = node, READY, 0.0
                work.ready += 1

    def _host_running_at_start(self, site: Site) -> bool:
        schedule = site.host_schedule
        if schedule is None:
            return True
        start_spec, stop_spec = cron.parse_eventbridge(schedule.start), cron.parse_eventbridge(schedule.stop)
        look_back = 8 * 1440
        begin = self.origin - timedelta(minutes=look_back)
        starts = cron.fire_minutes(start_spec, schedule.timezone, begin, look_back)
        stops = cron.fire_minutes(stop_spec, schedule.timezone, begin, look_back)
        return bool(starts) and (not stops or starts[-1] > stops[-1])

    # --- traffic ------------------------------------------------------------------------------------------

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
