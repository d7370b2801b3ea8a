"""What must hold of a stack's Kubernetes objects, as the controllers that run them will read them.

Schemas say an object is accepted; these say it works. Each check takes the stack's objects after the API
server's defaults (`llmscale.k8s.defaults.defaulted`) and the values of its Helm releases, and returns one line
per problem, `Kind/name: what goes wrong at run time`. They encode what the upstream source of each controller
does with our objects (cited at each check), so the next defect of the kind is caught before a deploy:

- Envoy ejects replicas on vLLM's 503s (load, not failure) when outlier detection counts 5xx or gateway errors;
- requests queue invisibly inside Envoy when it allows fewer connections than parallel requests;
- a replica is killed mid-stream when its grace period is shorter than the longest request;
- KEDA scales to zero while requests generate when no trigger counts running requests;
- a claim without a StorageClass stays Pending on a cluster without a default class;
- Envoy Gateway's own Service becomes a second, public load balancer on the cluster llmscale builds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from llmscale.k8s.defaults import Manifest, defaulted_all
from llmscale.serving.metrics import VLLM_RUNNING

DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def _ident(obj: Manifest) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def _of(objects: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [obj for obj in objects if obj.get("kind") == kind]


def seconds(duration: str) -> float:
    """A Gateway API duration (`600s`, `10m`, `1h`) in seconds."""
    match = DURATION.match(duration)
    if not match:
        raise ValueError(f"not a simple duration: {duration!r}")
    return int(match.group(1)) * UNITS[match.group(2)]


def _flag(args: list[Any], flag: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return str(args[index + 1])
        if isinstance(arg, str) and arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


def _vllm_container(deployment: Manifest) -> Manifest | None:
    containers = deployment["spec"]["template"]["spec"].get("containers", [])
    return next((c for c in containers if c.get("command", [])[-1:] == ["serve"] or c.get("name") == "vllm"), None)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _deployments_behind(objects: list[Manifest], service_name: str) -> list[Manifest]:
    services = [s for s in _of(objects, "Service") if s["metadata"]["name"] == service_name]
    return [
        d
        for s in services
        for d in _of(objects, "Deployment")
        if _selects(s["spec"].get("selector") or {}, d["spec"]["template"].get("metadata", {}).get("labels") or {})
    ]


def outlier_detection(objects: list[Manifest]) -> Iterator[str]:
    """Envoy Gateway v1.9.0 `buildXdsOutlierDetection` (internal/xds/translator/cluster.go) passes
    `consecutive5XxErrors` (CRD default 5) to Envoy, which enforces it at 100 %, and enforces gateway errors
    (502/503/504) at 100 % whenever `consecutiveGatewayErrors` is set; `failurePercentageThreshold` is enforced at
    100 % too. vLLM answers 503 when its queue is full, so any of them ejects healthy replicas under load."""
    for policy in _of(objects, "BackendTrafficPolicy"):
        passive = ((policy["spec"].get("healthCheck") or {}).get("passive")) or None
        if passive is None:
            continue
        if passive.get("consecutive5XxErrors", 0) != 0:
            yield (
                f"{_ident(policy)}: outlier detection ejects a replica after {passive['consecutive5XxErrors']} "
                "consecutive 5xx, and vLLM answers 503 when its queue is full: overload would eject healthy "
                "replicas (set consecutive5XxErrors: 0)"
            )
        if "consecutiveGatewayErrors" in passive:
            yield f"{_ident(policy)}: consecutiveGatewayErrors counts vLLM's 503 as a gateway error (enforced at 100 %)"
        if "failurePercentageThreshold" in passive:
            yield f"{_ident(policy)}: failurePercentageThreshold counts vLLM's 503 as a failure (enforced at 100 %)"


def connection_limits(objects: list[Manifest]) -> Iterator[str]:
    """vLLM speaks HTTP/1.1: one upstream connection per request in flight. Envoy Gateway v1.9.0 defaults every
    circuit-breaker threshold to 1024 (BackendTrafficPolicy CRD); requests beyond `maxConnections` wait in Envoy's
    pending queue, where neither KEDA nor vLLM's 503 path can see them."""
    routes = {r["metadata"]["name"]: r for r in _of(objects, "HTTPRoute")}
    for policy in _of(objects, "BackendTrafficPolicy"):
        breaker = policy["spec"].get("circuitBreaker")
        if breaker is None:
            continue
        if breaker.get("maxConnections", 1024) < breaker.get("maxParallelRequests", 1024):
            yield (
                f"{_ident(policy)}: maxConnections {breaker.get('maxConnections', 1024)} < maxParallelRequests "
                f"{breaker.get('maxParallelRequests', 1024)}: requests would queue inside Envoy"
            )
        per_endpoint = (breaker.get("perEndpoint") or {}).get("maxConnections", 1024)
        for ref in policy["spec"].get("targetRefs") or []:
            route = routes.get(ref.get("name"))
            for rule in (route or {}).get("spec", {}).get("rules", []):
                for backend in rule.get("backendRefs") or []:
                    for deployment in _deployments_behind(objects, backend.get("name")):
                        container = _vllm_container(deployment)
                        limit = _flag(container.get("args") or [], "--max-num-queued-reqs") if container else None
                        if limit is not None and per_endpoint < int(limit):
                            yield (
                                f"{_ident(policy)}: perEndpoint.maxConnections {per_endpoint} < the "
                                f"{int(limit)} requests {_ident(deployment)} admits: the rest would queue in Envoy"
                            )


def _route_timeouts(objects: list[Manifest]) -> dict[str, float]:
    """The longest request timeout of the routes (and their traffic policies) sending to each Service."""
    longest: dict[str, float] = {}
    policies = {
        ref.get("name"): p for p in _of(objects, "BackendTrafficPolicy") for ref in p["spec"].get("targetRefs") or []
    }
    for route in _of(objects, "HTTPRoute"):
        policy = policies.get(route["metadata"]["name"])
        policy_timeout = (((policy or {}).get("spec", {}).get("timeout") or {}).get("http") or {}).get("requestTimeout")
        for rule in route["spec"].get("rules", []):
            timeouts = [t for t in ((rule.get("timeouts") or {}).get("request"), policy_timeout) if t]
            if not timeouts:
                continue
            timeout = max(seconds(t) for t in timeouts)
            for backend in rule.get("backendRefs") or []:
                name = backend.get("name")
                longest[name] = max(longest.get(name, 0.0), timeout)
    return longest


def drain(objects: list[Manifest]) -> Iterator[str]:
    """The kubelet sends SIGKILL `terminationGracePeriodSeconds` (default 30) after it starts the preStop hook;
    vLLM 0.33 aborts every request in flight on SIGTERM unless `--shutdown-timeout` gives it time to drain
    (vllm/v1/engine/core.py `_handle_shutdown`). Both must cover the longest request the gateway lets run."""
    timeouts = _route_timeouts(objects)
    for service, timeout in timeouts.items():
        for deployment in _deployments_behind(objects, service):
            pod = deployment["spec"]["template"]["spec"]
            container = _vllm_container(deployment)
            if container is None:
                continue
            pre_stop = (((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
            grace = pod["terminationGracePeriodSeconds"]
            if grace < pre_stop + timeout:
                yield (
                    f"{_ident(deployment)}: terminationGracePeriodSeconds {grace} < preStop {pre_stop} s + the "
                    f"{timeout:g} s request timeout: scale-downs and rollouts cut streams"
                )
            drain_time = _flag(container.get("args") or [], "--shutdown-timeout")
            if drain_time is None or int(drain_time) < timeout:
                yield (
                    f"{_ident(deployment)}: vLLM drains for {drain_time or 0} s on SIGTERM (--shutdown-timeout), less "
                    f"than the {timeout:g} s request timeout: it aborts requests in flight"
                )


def activation(objects: list[Manifest]) -> Iterator[str]:
    """KEDA v2.20 scales a target with `minReplicaCount` 0 (its default) to zero once every trigger has been
    inactive for `cooldownPeriod` (`scaleToZeroOrIdle`, pkg/scaling/executor/scale_scaledobjects.go); a
    prometheus trigger is active only while its value exceeds `activationThreshold`. A queue is empty while
    requests still generate: some trigger must count running requests."""
    for scaled in _of(objects, "ScaledObject"):
        if scaled["spec"].get("minReplicaCount", 0) > 0:
            continue
        counts_running = any(
            t.get("type") == "prometheus" and VLLM_RUNNING in (t.get("metadata") or {}).get("query", "")
            for t in scaled["spec"].get("triggers", [])
        )
        if not counts_running:
            yield (
                f"{_ident(scaled)}: may scale to zero while requests are running: no trigger counts "
                f"{VLLM_RUNNING}, so an empty queue looks idle"
            )


def _default_class(objects: list[Manifest]) -> str | None:
    for storage_class in _of(objects, "StorageClass"):
        annotations = storage_class["metadata"].get("annotations") or {}
        if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
            return storage_class["metadata"]["name"]
    return None


def _claim_templates(releases: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    for release in releases:
        values = release.get("values") or {}
        spec = (((values.get("prometheus") or {}).get("prometheusSpec") or {}).get("storageSpec") or {}).get(
            "volumeClaimTemplate"
        )
        if spec is not None:
            yield f"Release/{release.get('name')}: prometheus volumeClaimTemplate", spec.get("spec") or {}


def storage_classes(objects: list[Manifest], releases: list[Manifest], *, cluster_has_default: bool) -> Iterator[str]:
    """A claim without `storageClassName` gets the cluster's default class (the DefaultStorageClass admission
    plugin), and EKS >= 1.30 has none: such a claim stays Pending, and a StatefulSet waits on it for ever. On a
    cluster llmscale builds, every claim must name a class or the stack must create a default one."""
    if cluster_has_default or _default_class(objects) is not None:
        return
    claims = [(_ident(c), c.get("spec") or {}) for c in _of(objects, "PersistentVolumeClaim")]
    for ident, spec in [*claims, *_claim_templates(releases)]:
        if not spec.get("storageClassName"):
            yield f"{ident}: names no StorageClass and the cluster has no default one: it would stay Pending"


def gateway_service(objects: list[Manifest], *, fronted: bool) -> Iterator[str]:
    """Envoy Gateway renders a `LoadBalancer` Service per Gateway unless the EnvoyProxy its
    `infrastructure.parametersRef` names says otherwise (EnvoyProxy CRD default). Where llmscale fronts the
    gateway with its own load balancer, that Service would be a second, public way in, plain HTTP included."""
    if not fronted:
        return
    proxies = {p["metadata"]["name"]: p for p in _of(objects, "EnvoyProxy")}
    for gateway in _of(objects, "Gateway"):
        ref = ((gateway["spec"].get("infrastructure") or {}).get("parametersRef")) or {}
        proxy = proxies.get(ref.get("name"))
        kubernetes = ((proxy or {}).get("spec", {}).get("provider") or {}).get("kubernetes") or {}
        service_type = (kubernetes.get("envoyService") or {}).get("type", "LoadBalancer")
        if service_type != "ClusterIP":
            yield f"{_ident(gateway)}: Envoy Gateway would expose the proxies with a {service_type} Service of its own"


def problems(
    objects: list[Manifest], releases: list[Manifest] = (), *, fronted: bool = False, cluster_has_default: bool = True
) -> list[str]:
    """Every run-time problem of a stack's Kubernetes objects (given as written; they are defaulted here).

    `fronted`: llmscale puts its own load balancer in front of the gateway (the cluster it builds on AWS).
    `cluster_has_default`: the cluster is known to have a default StorageClass (an existing cluster is assumed to).
    """
    stored = defaulted_all(list(objects))
    return [
        *outlier_detection(stored),
        *connection_limits(stored),
        *drain(stored),
        *activation(stored),
        *storage_classes(stored, list(releases), cluster_has_default=cluster_has_default),
        *gateway_service(stored, fronted=fronted),
    ]
