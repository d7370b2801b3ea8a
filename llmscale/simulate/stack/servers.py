"""vLLM servers from the planned objects: Deployments or the single host's compose file, flags and scalers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from llmscale.k8s.autoscaling import canary_pods_excluded
from llmscale.k8s.defaults import DEFAULT_TERMINATION_GRACE_SECONDS
from llmscale.policy.inspect import VllmServer
from llmscale.policy.model import Inventory, Record
from llmscale.policy.settings import SETTINGS_TYPE
from llmscale.serving.metrics import VLLM_QUEUE_DEPTH, VLLM_RUNNING
from llmscale.simulate import hpa, keda
from llmscale.simulate.stack.model import CronTrigger, PrometheusTrigger, Scaler, Server
from llmscale.simulate.stack.values import (
    DEFAULT_SCRAPE_SECONDS,
    PROBE_FAILURES,
    PROBE_PERIOD_SECONDS,
    VLLM_DEFAULT_GPU_MEMORY_UTILIZATION,
    VLLM_DEFAULT_MAX_NUM_SEQS,
    VLLM_DEFAULT_SHUTDOWN_TIMEOUT,
    SimulationError,
    duration,
    known,
    number,
)


def _settings(inventory: Inventory) -> Mapping[str, Any]:
    if not inventory.settings:
        raise SimulationError(f"the plan has no {SETTINGS_TYPE} record: it states no load, SLO or schedule to simulate")
    return inventory.settings


def ancestors(records: Iterable[Record]) -> dict[str, str | None]:
    return {r.name: r.parent for r in records if not r.type.startswith(("kubernetes:", "aws:"))}


def site_root(record: Record, parents: Mapping[str, str | None], layers: set[str]) -> str | None:
    current = record.parent
    seen = 0
    while current is not None and seen < 50:
        if current in layers:
            return current
        current = parents.get(current)
        seen += 1
    return None


def _flag(server: VllmServer, name: str) -> str | None:
    value = server.flag(name)
    return None if value in (None, "") else value


def _query_metrics(query: str, where: str) -> tuple[bool, bool, str, bool]:
    """Which gauges a trigger's query sums, for which profile, and whether it leaves out the canary's pods."""
    waiting = VLLM_QUEUE_DEPTH in query
    running = VLLM_RUNNING in query
    profile = re.search(r'model_name="([^"]+)"', query)
    if not (waiting or running) or profile is None:
        raise SimulationError(
            f"{where}: query {query!r} is not one the simulator can evaluate (it knows sums of "
            f"{VLLM_QUEUE_DEPTH} and {VLLM_RUNNING} for one model_name)"
        )
    stable_only = canary_pods_excluded(profile.group(1)) in query
    return waiting, running, profile.group(1), stable_only


def scaler_from_spec(name: str, spec: Mapping[str, Any]) -> Scaler:
    """A ScaledObject spec with KEDA's and the HPA's defaults filled in (see `llmscale.simulate.keda`)."""
    where = f"ScaledObject/{name}"
    prometheus: list[PrometheusTrigger] = []
    cron: list[CronTrigger] = []
    for index, trigger in enumerate(spec.get("triggers") or []):
        meta = trigger.get("metadata") or {}
        at = f"{where}: triggers[{index}]"
        kind = trigger.get("type")
        if kind == "prometheus":
            waiting, running, profile, stable_only = _query_metrics(
                str(known(meta.get("query", ""), f"{at}.metadata.query")), at
            )
            prometheus.append(
                PrometheusTrigger(
                    counts_waiting=waiting,
                    counts_running=running,
                    profile=profile,
                    threshold=number(meta.get("threshold"), f"{at}.metadata.threshold"),
                    activation_threshold=number(meta.get("activationThreshold"), f"{at}.metadata", 0.0),
                    metric_type=str(trigger.get("metricType") or "AverageValue"),
                    stable_only=stable_only,
                )
            )
        elif kind == "cron":
            cron.append(
                CronTrigger(
                    start=str(meta.get("start", "")),
                    end=str(meta.get("end", "")),
                    timezone=str(meta.get("timezone") or "UTC"),
                    desired_replicas=int(number(meta.get("desiredReplicas"), f"{at}.metadata.desiredReplicas")),
                )
            )
        else:
            raise SimulationError(f"{at}: trigger type {kind!r} is not simulated (prometheus and cron are)")
        if trigger.get("metricType") not in (None, "AverageValue", "Value"):
            raise SimulationError(f"{at}.metricType: {trigger.get('metricType')!r} is not simulated")
    behavior = (((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig")) or {}).get("behavior") or {}
    idle = spec.get("idleReplicaCount")
    minimum = int(number(spec.get("minReplicaCount"), f"{where}.minReplicaCount", keda.DEFAULT_MIN_REPLICAS))
    return Scaler(
        name=name,
        polling_seconds=number(spec.get("pollingInterval"), f"{where}.pollingInterval", keda.DEFAULT_POLLING_SECONDS),
        cooldown_seconds=number(spec.get("cooldownPeriod"), f"{where}.cooldownPeriod", keda.DEFAULT_COOLDOWN_SECONDS),
        initial_cooldown_seconds=number(
            spec.get("initialCooldownPeriod"), f"{where}.initialCooldownPeriod", keda.DEFAULT_INITIAL_COOLDOWN_SECONDS
        ),
        min_replicas=minimum,
        max_replicas=int(number(spec.get("maxReplicaCount"), f"{where}.maxReplicaCount", keda.DEFAULT_MAX_REPLICAS)),
        idle_replicas=None if idle is None else int(number(idle, f"{where}.idleReplicaCount")),
        prometheus=tuple(prometheus),
        cron=tuple(cron),
        scale_up=hpa.rules_from_spec(behavior.get("scaleUp"), hpa.DEFAULT_SCALE_UP),
        scale_down=hpa.rules_from_spec(behavior.get("scaleDown"), hpa.DEFAULT_SCALE_DOWN),
        has_fallback=spec.get("fallback") is not None,
    )


def _load_path(model: str, server: VllmServer) -> str:
    if _flag(server, "--load-format") == "runai_streamer" or model.startswith(("s3://", "store://", "gs://")):
        return "s3"
    if model.startswith("/"):
        return "local"
    return "hub"


def _model_cache(pod: Mapping[str, Any]) -> str:
    containers = pod.get("containers") or []
    mounts = {m.get("name"): m.get("mountPath") for c in containers for m in c.get("volumeMounts") or []}
    for volume in pod.get("volumes") or []:
        if volume.get("name") != "model-cache" and mounts.get(volume.get("name")) != "/models":
            continue
        if "hostPath" in volume:
            return "hostPath"
        if "persistentVolumeClaim" in volume:
            return "pvc"
    return "emptyDir"


def _pre_stop(container: Mapping[str, Any]) -> float:
    hook = ((container.get("lifecycle") or {}).get("preStop")) or {}
    seconds = (hook.get("sleep") or {}).get("seconds")
    return float(seconds) if seconds is not None else 0.0


def _startup_budget(container: Mapping[str, Any]) -> float:
    probe = container.get("startupProbe")
    if not probe:
        return float("inf")  # no startup probe: the liveness probe's delays would apply; not simulated
    return float(probe.get("failureThreshold", PROBE_FAILURES)) * float(
        probe.get("periodSeconds", PROBE_PERIOD_SECONDS)
    )


def _scrape_seconds(records: list[Record], profile: str) -> float:
    for record in records:
        spec = record.props.get("spec") or {}
        labels = ((spec.get("selector") or {}).get("matchLabels")) or {}
        if labels.get("llmscale.io/profile") == profile:
            for endpoint in spec.get("podMetricsEndpoints") or []:
                if endpoint.get("interval"):
                    return duration(endpoint["interval"], f"PodMonitor/{record.name}.interval")
    return DEFAULT_SCRAPE_SECONDS


def _models(settings: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(m.get("name")): m for m in settings.get("models") or []}


def deployment_server(
    record: Record, server: VllmServer, settings: Mapping[str, Any], monitors: list[Record], scaler: Scaler | None
) -> Server:
    spec = record.props.get("spec") or {}
    template = spec.get("template") or {}
    pod = template.get("spec") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    container = next(
        (c for c in pod.get("containers") or [] if c.get("name") == "vllm" or "vllm" in str(c.get("image", ""))), {}
    )
    where = f"Deployment/{record.name}"
    profile = str(labels.get("llmscale.io/profile") or _flag(server, "--served-model-name") or record.name)
    declared = _models(settings).get(profile, {})
    limits = (container.get("resources") or {}).get("limits") or {}
    gpus = int(number(limits.get("nvidia.com/gpu"), f"{where}: resources.limits.nvidia.com/gpu", 1))
    zone_spread = any(
        c.get("topologyKey") == "topology.kubernetes.io/zone" and c.get("whenUnsatisfiable") == "DoNotSchedule"
        for c in pod.get("topologySpreadConstraints") or []
    )
    return _server(
        name=str((record.props.get("metadata") or {}).get("name") or record.name),
        server=server,
        profile=profile,
        lane=str(labels.get("llmscale.io/lane") or declared.get("lane") or "interactive"),
        canary=labels.get("llmscale.io/track") == "canary",
        declared=declared,
        replicas=int(number(spec.get("replicas"), f"{where}.spec.replicas", 1)),
        gpus=gpus,
        grace=number(pod.get("terminationGracePeriodSeconds"), where, DEFAULT_TERMINATION_GRACE_SECONDS),
        pre_stop=_pre_stop(container),
        startup=_startup_budget(container),
        cache=_model_cache(pod),
        zone_spread=zone_spread,
        scrape=_scrape_seconds(monitors, profile),
        scaler=scaler,
        where=where,
        resource=record.name,
    )


def _server(
    *,
    name: str,
    server: VllmServer,
    profile: str,
    lane: str,
    canary: bool,
    declared: Mapping[str, Any],
    replicas: int,
    gpus: int,
    grace: float,
    pre_stop: float,
    startup: float,
    cache: str,
    zone_spread: bool,
    scrape: float,
    scaler: Scaler | None,
    where: str,
    resource: str = "",
) -> Server:
    model = server.args[0] if server.args and not server.args[0].startswith("-") else str(declared.get("model", ""))
    if not model:
        raise SimulationError(f"{where}: the vLLM command names no model")
    queue = _flag(server, "--max-num-queued-reqs")
    tensor_parallel = _flag(server, "--tensor-parallel-size")
    return Server(
        name=name,
        profile=profile,
        lane=lane,
        canary=canary,
        model=model,
        quantization=_flag(server, "--quantization") or declared.get("quantization"),
        replicas=replicas,
        gpus_per_replica=max(gpus, int(tensor_parallel) if tensor_parallel else 1),
        max_num_seqs=int(
            number(_flag(server, "--max-num-seqs"), f"{where}: --max-num-seqs", VLLM_DEFAULT_MAX_NUM_SEQS)
        ),
        queue_limit=int(number(queue, f"{where}: --max-num-queued-reqs")) if queue is not None else None,
        gpu_memory_utilization=number(
            _flag(server, "--gpu-memory-utilization"),
            f"{where}: --gpu-memory-utilization",
            VLLM_DEFAULT_GPU_MEMORY_UTILIZATION,
        ),
        shutdown_timeout=number(
            _flag(server, "--shutdown-timeout"), f"{where}: --shutdown-timeout", VLLM_DEFAULT_SHUTDOWN_TIMEOUT
        ),
        grace_seconds=grace,
        pre_stop_seconds=pre_stop,
        startup_budget_seconds=startup,
        load_path=_load_path(model, server),
        model_cache=cache,
        image=server.image,
        zone_spread=zone_spread,
        scrape_seconds=scrape,
        scaler=scaler,
        resource=resource,
    )
