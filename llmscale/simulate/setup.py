"""A simulation's starting state: each site's workloads with their scalers and routes, and the nodes and pods
that run at minute 0.

A mixin of `llmscale.simulate.engine.Simulation`, over the cluster side (`llmscale.simulate.cluster.Cluster`)
whose scheduler places the first pods.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from llmscale.simulate import cron, gateway, hpa, keda, nodes
from llmscale.simulate.cluster import Cluster
from llmscale.simulate.run import Options
from llmscale.simulate.stack import SimStack, SimulationError, Site
from llmscale.simulate.state import PENDING, READY, Pod, RouteState, SiteState, Workload
from llmscale.simulate.vllm import replica_model


class SiteSetup(Cluster):
    """Builds the state of each site at the start of a run; `Simulation` provides the settings it reads."""

    stack: SimStack
    options: Options
    origin: datetime
    total_minutes: int

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
