"""Pods, nodes and the controllers that size them, as the simulation drives them.

A mixin of `llmscale.simulate.engine.Simulation`: the Deployment controller (create and delete pods to the
target, least useful first), the scheduler (a ready node with a free GPU, zone spread `DoNotSchedule` with
maxSkew 1 counted over the zones that have nodes), pod start and termination (`llmscale.simulate.nodes`,
`llmscale.simulate.vllm`), KEDA and the HPA (`llmscale.simulate.keda`, `llmscale.simulate.hpa`), the cluster
autoscaler's scale-up and scale-down, and the single host's EventBridge schedule.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from llmscale.simulate import hpa, keda, nodes
from llmscale.simulate.stack import ClusterAutoscalerFlags, PrometheusTrigger
from llmscale.simulate.state import PENDING, READY, STARTING, TERMINATING, Minute, Pod, ScaleEvent, SiteState, Workload
from llmscale.simulate.vllm import cut_fraction, kill_deadline

if TYPE_CHECKING:
    import random


class Cluster:
    """The cluster side of a simulation (see the module docstring); `Simulation` provides the state it reads."""

    dt: float
    warm: int
    gauges: random.Random
    killed_by: dict[str, float]
    _site_of: dict[int, SiteState]
    _timeouts: dict[str, float]
    _host_starts: dict[int, set[int]]
    _host_stops: dict[int, set[int]]

    def _virtual_node(self, work: Workload, now: float) -> nodes.Node:
        """A node of a cluster llmscale does not manage: always there when a pod needs one."""
        return nodes.Node(group=-1, zone="cluster", gpus=work.server.gpus_per_replica, ready_at=now,
                          images={work.server.image})  # fmt: skip

    def _zone_counts(self, state: SiteState, work: Workload) -> dict[str, int]:
        counts = {node.zone: 0 for node in state.node_list if not node.deleting}
        for pod in work.pods:
            if pod.node is not None and pod.state in (STARTING, READY):
                counts[pod.node.zone] = counts.get(pod.node.zone, 0) + 1
        return counts

    def _allowed_zones(
        self, state: SiteState, work: Workload, planned: dict[str, int] | None = None
    ) -> set[str] | None:
        """Zones a new pod may go to under a `DoNotSchedule` zone spread (maxSkew 1); None: any.

        The domains are the zones that have nodes (kube-scheduler's PodTopologySpread counts existing nodes);
        `planned` adds pods the autoscaler has already placed on nodes that are on their way.
        """
        if not work.server.zone_spread:
            return None
        counts = self._zone_counts(state, work)
        for zone, count in (planned or {}).items():
            counts[zone] = counts.get(zone, 0) + count
        if not counts:
            return None
        least = min(counts.values())
        return {zone for zone, count in counts.items() if count == least}

    def _pick_node(self, state: SiteState, work: Workload, now: float) -> nodes.Node | None:
        need = work.server.gpus_per_replica
        allowed = self._allowed_zones(state, work)
        best = None
        for node in state.node_list:
            if node.ready_at <= now and not node.deleting and node.gpus - node.used >= need:
                if allowed is not None and node.zone not in allowed:
                    continue
                if best is None or node.gpus - node.used > best.gpus - best.used:
                    best = node
        return best

    def _group_for(self, state: SiteState, work: Workload, allowed: set[str] | None) -> int | None:
        """The node group the autoscaler grows for a pod: the smallest similar group with room, in an allowed zone."""
        sizes = [0] * len(state.site.node_groups)
        for node in state.node_list:
            if node.group >= 0 and not node.deleting:
                sizes[node.group] += 1
        choices = [
            (sizes[index], index)
            for index, group in enumerate(state.site.node_groups)
            if sizes[index] < group.max_size and (not allowed or group.zone in allowed)
        ]
        return min(choices)[1] if choices else None

    def _start_pod(self, state: SiteState, work: Workload, pod: Pod, node: nodes.Node, now: float) -> None:
        server = work.server
        node.used += server.gpus_per_replica
        source = nodes.weights_source(
            server.load_path, server.model_cache, server.model in node.models, server.model in state.site_models
        )
        seconds, restarted = nodes.start_seconds(
            work.model.weights_gb, source, server.image in node.images, server.startup_budget_seconds
        )
        node.images.add(server.image)
        node.models.add(server.model)
        state.site_models.add(server.model)
        pod.node, pod.state, pod.ready_at, pod.restarted = node, STARTING, now + seconds, restarted
        state.pending -= 1
        state.next_event = min(state.next_event, pod.ready_at)
        state.billing_dirty = True
        if restarted:
            work.restarts += 1

    def _schedule(self, state: SiteState, now: float) -> None:
        if state.pending <= 0:
            return
        for work in sorted(state.workloads, key=lambda w: w.server.lane != "interactive"):
            for pod in work.pods:
                if pod.state != PENDING:
                    continue
                node = self._pick_node(state, work, now)
                if node is None and not state.site.node_groups and not state.site.single_host:
                    node = self._virtual_node(work, now)
                    state.node_list.append(node)
                if node is None:
                    work.pending_seconds += self.dt
                    continue
                self._start_pod(state, work, pod, node, now)

    def _lifecycle(self, state: SiteState, now: float) -> None:
        if now < state.next_event:
            return
        upcoming = math.inf
        for work in state.workloads:
            for pod in work.pods:
                if pod.state == STARTING and pod.ready_at <= now:
                    pod.state = READY
                    work.ready += 1
            if any(pod.state == TERMINATING and pod.exit_at <= now for pod in work.pods):
                keep = []
                for pod in work.pods:
                    if pod.state == TERMINATING and pod.exit_at <= now:
                        if pod.node is not None:
                            pod.node.used -= work.server.gpus_per_replica
                    else:
                        keep.append(pod)
                work.pods = keep
            for pod in work.pods:
                if pod.state == STARTING:
                    upcoming = min(upcoming, pod.ready_at)
                elif pod.state == TERMINATING:
                    upcoming = min(upcoming, pod.exit_at)
        if any(node.deleting and node.used <= 0 for node in state.node_list):
            state.node_list = [n for n in state.node_list if not (n.deleting and n.used <= 0)]
            state.sizes = None
        if not state.site.node_groups and not state.site.single_host:
            state.node_list = [n for n in state.node_list if n.used > 0]
        for node in state.node_list:
            if node.ready_at > now:
                upcoming = min(upcoming, node.ready_at)
        state.next_event = upcoming
        state.billing_dirty = True

    def _terminate(self, work: Workload, pod: Pod, now: float, grace: float, minute: Minute | None, cause: str) -> None:
        """Delete a pod: a ready one takes its share of the requests in flight, which finish or are cut."""
        server = work.server
        if pod.state == PENDING:
            work.pods.remove(pod)
            self._site_of[id(work)].pending -= 1
            return
        state = self._site_of[id(work)]
        hook = min(server.pre_stop_seconds, grace)
        if pod.state != READY:
            pod.state, pod.exit_at = TERMINATING, now + hook
            state.next_event = min(state.next_event, pod.exit_at)
            return
        share = work.in_flight / work.ready if work.ready else 0.0
        work.in_flight -= share
        work.ready -= 1
        pod.state = TERMINATING
        deadline = kill_deadline(server.pre_stop_seconds, server.shutdown_timeout, grace)
        if share <= 1e-9 or not work.last_latencies:
            pod.exit_at = now + hook
            state.next_event = min(state.next_event, pod.exit_at)
            return
        totals = [latency + work.last_wait for latency in work.last_latencies]
        weights = [k.share * total for k, total in zip(work.model.classes, totals, strict=True)]
        scale = share / sum(weights)
        killed = 0.0
        timeout = self._timeout(work)
        for weight, total in zip(weights, totals, strict=True):
            cut = weight * scale * cut_fraction(total, deadline)
            killed += cut
            finished = weight * scale - cut
            if minute is not None:
                if total > timeout:
                    minute.counts.timed_out += finished
                else:
                    minute.counts.served += finished
                    minute.latency.add(total, finished)
        if minute is not None:
            minute.counts.killed += killed
            self.killed_by[cause] = self.killed_by.get(cause, 0.0) + killed
            work.killed_by[cause] = work.killed_by.get(cause, 0.0) + killed
        pod.exit_at = now + max(hook, min(deadline, max(totals)))
        state.next_event = min(state.next_event, pod.exit_at)

    def _timeout(self, work: Workload) -> float:
        return self._timeouts.get(work.key, math.inf)

    def _reconcile(
        self, state: SiteState, work: Workload, now: float, minute: Minute | None, cause: str = "scale-down"
    ) -> None:
        """The Deployment controller: create pods up to the target, delete the least useful ones above it."""
        active = [pod for pod in work.pods if pod.state != TERMINATING]
        missing = work.target - len(active)
        if missing > 0:
            work.pods.extend(Pod(state=PENDING, created=now) for _ in range(missing))
            state.pending += missing
        elif missing < 0:
            order = sorted(active, key=lambda p: ({PENDING: 0, STARTING: 1, READY: 2}[p.state], -p.created))
            for pod in order[:-missing]:
                self._terminate(work, pod, now, work.server.grace_seconds, minute, cause)

    def _set_target(
        self, state: SiteState, work: Workload, target: int, now: float, by: str, minute: Minute | None
    ) -> None:
        if target == work.target:
            return
        if now >= self.warm * 60:
            work.events.append(ScaleEvent(now - self.warm * 60, work.server.name, work.site, work.target, target, by))
        work.target = target
        cause = {"keda": "scale-to-zero", "schedule": "schedule"}.get(by, "scale-down")
        self._reconcile(state, work, now, minute, cause)

    # --- controllers --------------------------------------------------------------------------------------

    def _metric(self, state: SiteState, trigger: PrometheusTrigger) -> float:
        """A prometheus trigger's value: the scraped waiting and/or running requests of a profile's pods (its
        stable pods only when the query leaves out the canary's)."""
        sums = state.metric_sums
        if sums is None:
            sums = {}
            for work in state.workloads:
                for stable_only in (False, True):
                    if stable_only and work.server.canary:
                        continue
                    w, r = sums.get((work.server.profile, stable_only), (0.0, 0.0))
                    sums[work.server.profile, stable_only] = (w + work.scraped_waiting, r + work.scraped_running)
            state.metric_sums = sums
        w, r = sums.get((trigger.profile, trigger.stable_only), (0.0, 0.0))
        return (w if trigger.counts_waiting else 0.0) + (r if trigger.counts_running else 0.0)

    def _keda(self, state: SiteState, work: Workload, now: float, minute_index: int, minute: Minute | None) -> None:
        scaler = work.server.scaler
        assert scaler is not None and work.executor is not None
        active = any(window.is_active(minute_index) for window in work.windows)
        if not active:
            for trigger in scaler.prometheus:
                value = self._metric(state, trigger)
                if keda.prometheus_active(value, trigger.activation_threshold):
                    active = True
                    break
        target = work.executor.request_scale(now, active, work.target)
        if target is not None:
            self._set_target(state, work, target, now, "keda", minute)

    def _hpa(self, state: SiteState, work: Workload, now: float, minute_index: int, minute: Minute | None) -> None:
        scaler = work.server.scaler
        assert scaler is not None and work.autoscaler is not None
        current = work.target
        if current == 0:
            return
        values = tuple(self._metric(state, t) for t in scaler.prometheus) + tuple(
            window.is_active(minute_index) for window in work.windows
        )
        key = (values, current, work.ready)
        if key != work.hpa_key:
            status = current  # the Deployment controller keeps as many pods as the target
            proposals = []
            for trigger, value in zip(scaler.prometheus, values, strict=False):
                if trigger.metric_type == "Value":
                    proposals.append(hpa.value_replicas(current, work.ready, value, trigger.threshold))
                else:
                    proposals.append(hpa.average_value_replicas(status, value, trigger.threshold))
            for trigger, window in zip(scaler.cron, work.windows, strict=True):
                metric = keda.cron_metric(window.is_active(minute_index), trigger.desired_replicas)
                proposals.append(hpa.average_value_replicas(status, metric, 1.0))
            work.hpa_key, work.hpa_proposals = key, proposals
        target = work.autoscaler.sync(now, current, work.hpa_proposals)
        self._set_target(state, work, target, now, "hpa", minute)

    def _cluster_autoscaler(self, state: SiteState, now: float, minute: Minute | None) -> None:
        flags = state.site.autoscaler
        groups = state.site.node_groups
        if flags is None or not groups:
            return
        if state.pending > 0:
            self._scale_up(state, now)
        if state.sizes is None:
            sizes = [0] * len(groups)
            for node in state.node_list:
                if node.group >= 0 and not node.deleting:
                    sizes[node.group] += 1
            state.sizes = sizes
            state.above_min = any(size > groups[index].min_size for index, size in enumerate(sizes))
            if not state.above_min:
                for node in state.node_list:
                    node.unneeded_since = None
        if not state.above_min:
            return
        self._scale_down(state, now, minute, flags)

    def _scale_up(self, state: SiteState, now: float) -> None:
        """Place every pending pod on capacity on its way, adding nodes where none is left: the autoscaler counts
        upcoming nodes, and a pod under a zone spread needs its node in an allowed zone."""
        groups = state.site.node_groups
        pending = [(w, p) for w in state.workloads for p in w.pods if p.state == PENDING]
        upcoming = [[n, n.gpus - n.used] for n in state.node_list if n.ready_at > now and not n.deleting]
        planned: dict[int, dict[str, int]] = {}
        grew = False
        for work, _pod in sorted(pending, key=lambda wp: wp[0].server.lane != "interactive"):
            need = work.server.gpus_per_replica
            mine = planned.setdefault(id(work), {})
            allowed = self._allowed_zones(state, work, mine)
            slot = next((u for u in upcoming if u[1] >= need and (allowed is None or u[0].zone in allowed)), None)
            if slot is None:
                group = self._group_for(state, work, allowed)
                if group is None:
                    continue
                node = nodes.Node(
                    group=group, zone=groups[group].zone, gpus=groups[group].gpus_per_node,
                    ready_at=now + nodes.NODE_READY_SECONDS, launched_at=now,
                )  # fmt: skip
                state.node_list.append(node)
                state.node_events += 1
                state.next_event = min(state.next_event, node.ready_at)
                state.billing_dirty = True
                state.sizes = None
                slot = [node, node.gpus]
                upcoming.append(slot)
                grew = True
            slot[1] -= need
            mine[slot[0].zone] = mine.get(slot[0].zone, 0) + 1
        if grew:
            state.last_scale_up = now

    def _scale_down(self, state: SiteState, now: float, minute: Minute | None, flags: ClusterAutoscalerFlags) -> None:
        """Track unneeded nodes every scan (`UpdateClusterState`), delete those unneeded long enough unless a
        scale-up happened within `scale-down-delay-after-add` (`isScaleDownInCooldown`, static_autoscaler.go)."""
        groups = state.site.node_groups
        sizes = list(state.sizes or [])
        cooling = now < state.last_scale_up + flags.scale_down_delay_after_add
        ready_nodes = [n for n in state.node_list if n.ready(now)]
        by_node: dict[int, list[tuple[Workload, Pod]]] = {}
        for w in state.workloads:
            for p in w.pods:
                if p.node is not None:
                    by_node.setdefault(id(p.node), []).append((w, p))
        free = sum(n.free for n in ready_nodes if n.unneeded_since is None)
        for node in ready_nodes:
            on_node = by_node.get(id(node), [])
            if any(p.state == TERMINATING for _, p in on_node) or sizes[node.group] <= groups[node.group].min_size:
                node.unneeded_since = None
                continue
            movable = sum(w.server.gpus_per_replica for w, p in on_node)
            elsewhere = free - (node.free if node.unneeded_since is None else 0)
            if not nodes.unneeded(node, movable, elsewhere, flags.gpu_utilization_threshold):
                node.unneeded_since = None
                continue
            if node.unneeded_since is None:
                node.unneeded_since = now
            if not cooling and now - node.unneeded_since >= flags.scale_down_unneeded:
                node.deleting = True
                sizes[node.group] -= 1
                state.sizes = None
                state.node_events += 1
                state.next_event = now
                for work, pod in on_node:
                    grace = min(work.server.grace_seconds, flags.max_graceful_termination)
                    self._terminate(work, pod, now, grace, minute, "node-drain")
                    self._reconcile(state, work, now, minute)

    def _host_schedule(self, state: SiteState, minute_index: int, now: float, minute: Minute | None) -> None:
        if minute_index in self._host_stops.get(id(state), ()) and state.host_running:
            state.host_running = False
            for work in state.workloads:
                self._set_target(state, work, 0, now, "schedule", minute)
                for pod in list(work.pods):
                    if pod.state != TERMINATING:
                        self._terminate(work, pod, now, work.server.grace_seconds, minute, "schedule")
            state.node_list[0].ready_at = math.inf
            state.billing_dirty = True
        if minute_index in self._host_starts.get(id(state), ()) and not state.host_running:
            state.host_running = True
            state.node_list[0].ready_at = now + nodes.HOST_BOOT_SECONDS
            state.next_event = min(state.next_event, state.node_list[0].ready_at)
            state.node_events += 1
            for work in state.workloads:
                self._set_target(state, work, work.server.replicas, now, "schedule", minute)
