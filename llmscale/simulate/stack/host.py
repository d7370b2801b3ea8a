"""The single host's site from the planned objects: its compose file's server and its EventBridge schedules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmscale.policy.inspect import VllmServer, compose_files, vllm_servers
from llmscale.policy.model import Inventory
from llmscale.simulate.stack.model import HostSchedule, Route, Site
from llmscale.simulate.stack.servers import _server
from llmscale.simulate.stack.values import (
    COMPOSE_STOP_GRACE_SECONDS,
    DEFAULT_SCRAPE_SECONDS,
    SCHEDULE,
    VLLM_DEFAULT_MAX_NUM_SEQS,
    duration,
)


def host_site(inventory: Inventory, settings: Mapping[str, Any]) -> Site | None:
    hosts = list(compose_files(inventory))
    declared = (settings.get("models") or [{}])[0]
    if hosts:
        record, compose = hosts[0]
        server = next((s for s in vllm_servers(inventory) if s.resource == record.name), None)
        if server is None:
            return None
        service = (compose.get("services") or {}).get("vllm") or {}
        grace = duration(service.get("stop_grace_period", COMPOSE_STOP_GRACE_SECONDS), "vllm.stop_grace_period")
    else:
        if settings.get("platform") != "host":
            return None
        # An existing host: the bundle is rendered, not planned; its server follows the declared profile.
        queue = declared.get("maxNumQueuedReqs")
        args = [
            str(declared.get("model", "")),
            "--max-num-seqs",
            str(declared.get("maxNumSeqs", VLLM_DEFAULT_MAX_NUM_SEQS)),
            *(["--max-num-queued-reqs", str(queue)] if queue is not None else []),
        ]
        server = VllmServer(resource="", image=str(declared.get("image", "")), args=args)
        grace = COMPOSE_STOP_GRACE_SECONDS
    starts = [
        r
        for r in inventory.of_type(SCHEDULE)
        if str((r.props.get("target") or {}).get("arn", "")).endswith("startInstances")
    ]
    stops = [
        r
        for r in inventory.of_type(SCHEDULE)
        if str((r.props.get("target") or {}).get("arn", "")).endswith("stopInstances")
    ]
    schedule = None
    if starts and stops:
        schedule = HostSchedule(
            start=str(starts[0].props.get("scheduleExpression")),
            stop=str(stops[0].props.get("scheduleExpression")),
            timezone=str(starts[0].props.get("scheduleExpressionTimezone") or "UTC"),
        )
    vllm = _server(
        name=str(declared.get("name") or "vllm"),
        server=server,
        profile=str(declared.get("name") or "vllm"),
        lane=str(declared.get("lane") or "interactive"),
        canary=False,
        declared=declared,
        replicas=1,
        gpus=int(declared.get("gpusPerReplica") or 1),
        grace=grace,
        pre_stop=0.0,
        startup=float("inf"),
        cache="host",
        zone_spread=False,
        scrape=DEFAULT_SCRAPE_SECONDS,
        scaler=None,
        where=f"Instance/{server.resource}" if server.resource else "the existing host",
        resource=server.resource,
    )
    route = Route(
        name=vllm.name,
        backends=((vllm.name, 1.0),),
        timeout_seconds=float("inf"),
        retries=0,
        retry_on_503=False,
        retry_backoff_seconds=0.0,
        retry_budget_percent=0.0,
        max_parallel_requests=float("inf"),
        rate_limit_requests=None,
        rate_limit_window_seconds=60.0,
        rate_limit_per_client=False,
    )
    return Site(
        name="primary",
        servers=(vllm,),
        routes=(route,),
        node_groups=(),
        gpus_per_node=int(settings.get("gpusPerNode") or 1),
        autoscaler=None,
        envoy_replicas=1,
        single_host=True,
        host_schedule=schedule,
    )
