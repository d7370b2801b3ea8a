"""The arguments of the Kubernetes components (`ServingLayer`, `VllmModel`, `InferenceGateway`, `Monitoring`),
decided from a stack's config.

Each holds the objects its component registers, already decided (the manifests of `llmscale.k8s`), and the
secrets it stores as Pulumi secrets: a component takes these and nothing else of the stack. The functions below
are how llmscale's own tiers fill them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from llmscale.config.models import ModelProfile, StackConfig
from llmscale.k8s.addons import AddonRelease, addon_releases
from llmscale.k8s.autoscaling import scaled_object_manifest
from llmscale.k8s.gateway import (
    API_KEYS_SECRET,
    envoy_proxy_manifest,
    gateway_class_manifest,
    gateway_manifest,
    path_prefix,
    serves_https,
)
from llmscale.k8s.gateway_policies import backend_traffic_policy_manifest, security_policy_manifest
from llmscale.k8s.inference import cache_aware_manifests, crd_manifests
from llmscale.k8s.labels import workload_name
from llmscale.k8s.monitoring import (
    GRAFANA_SECRET,
    alertmanager_values,
    dashboard_config_map_manifest,
    dcgm_service_monitor_manifest,
    gateway_pod_monitor_manifest,
    monitoring_releases,
    pod_monitor_manifest,
    prometheus_rule_manifest,
)
from llmscale.k8s.namespace import (
    model_cache_claim_manifest,
    namespace_manifest,
    network_policy_manifest,
    priority_class_manifests,
    service_account_manifest,
)
from llmscale.k8s.objects import Manifest
from llmscale.k8s.picker import epp_pod_monitor_manifest
from llmscale.k8s.routes import cache_aware, health_route_manifest, http_route_manifest
from llmscale.k8s.workload import HF_TOKEN_SECRET, deployment_manifest, pod_disruption_budget_manifest, service_manifest


def _secret(name: str, namespace: str) -> Manifest:
    """A Secret's manifest without its data, which the component adds as a Pulumi secret."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "type": "Opaque"}


@dataclass(frozen=True)
class VllmModelArgs:
    """One model profile's objects: its vLLM Deployment, Service, PodDisruptionBudget and KEDA ScaledObject,
    and with a canary its Deployment and Service (default: no canary). `profile` names the component's children,
    `workload` the Deployment."""

    profile: str
    workload: str
    deployment: Manifest
    service: Manifest
    disruption_budget: Manifest
    scaler: Manifest
    canary_deployment: Manifest | None = None
    canary_service: Manifest | None = None


def vllm_model_args(
    config: StackConfig,
    profile: ModelProfile,
    *,
    has_hf_token: bool,
    standby: bool = False,
    aws_region: str | None = None,
) -> VllmModelArgs:
    """A profile of the stack, at its primary site or its warm standby (`standby`)."""
    canary = profile.canary is not None
    kwargs: dict[str, Any] = {"has_hf_token": has_hf_token, "standby": standby, "aws_region": aws_region}
    return VllmModelArgs(
        profile=profile.name,
        workload=workload_name(profile),
        deployment=deployment_manifest(config, profile, **kwargs),
        service=service_manifest(config, profile),
        disruption_budget=pod_disruption_budget_manifest(config, profile),
        scaler=scaled_object_manifest(config, profile),
        canary_deployment=deployment_manifest(config, profile, canary=True, **kwargs) if canary else None,
        canary_service=service_manifest(config, profile, canary=True) if canary else None,
    )


@dataclass(frozen=True)
class GatewayRoute:
    """One profile's route through the gateway and the traffic policy that balances and protects it."""

    profile: str
    path: str
    route: Manifest
    traffic_policy: Manifest


@dataclass(frozen=True)
class InferenceGatewayArgs:
    """The gateway's objects: GatewayClass, EnvoyProxy, Gateway, a route per profile, the health route, the
    API-key SecurityPolicy and its Secret (`api_keys`: a JSON object of client to key, or one key; default
    none, an empty Secret), and the address clients use (`endpoint`)."""

    namespace: str
    gateway_class: Manifest
    proxy: Manifest
    gateway: Manifest
    routes: tuple[GatewayRoute, ...]
    health_route: Manifest
    security_policy: Manifest
    api_keys_secret: Manifest
    endpoint: str
    api_keys: SecretStr | None = None


def inference_gateway_args(config: StackConfig) -> InferenceGatewayArgs:
    """The stack's gateway (`gateway`, `routing`) in front of its profiles."""
    namespace = config.kubernetes.namespace
    scheme = "https" if serves_https(config) else "http"
    # Without a host name the address is the LoadBalancer's, which only the cluster knows.
    lookup = f"$(kubectl -n {namespace} get gateway llmscale -o jsonpath='{{.status.addresses[0].value}}')"
    return InferenceGatewayArgs(
        namespace=namespace,
        gateway_class=gateway_class_manifest(),
        proxy=envoy_proxy_manifest(config),
        gateway=gateway_manifest(config),
        routes=tuple(
            GatewayRoute(
                profile=p.name,
                path=path_prefix(p),
                route=http_route_manifest(config, p),
                traffic_policy=backend_traffic_policy_manifest(config, p),
            )
            for p in config.models
        ),
        health_route=health_route_manifest(config),
        security_policy=security_policy_manifest(config),
        api_keys_secret=_secret(API_KEYS_SECRET, namespace),
        endpoint=f"{scheme}://{config.gateway.hostname or lookup}",
        api_keys=config.api_keys,
    )


@dataclass(frozen=True)
class MonitoringArgs:
    """Monitoring's objects: the kube-prometheus-stack and dcgm-exporter releases (`releases`, empty for a
    cluster that runs its own), the monitoring namespace and Grafana's admin Secret when the stack installs the
    chart (default none), Alertmanager's receivers (`alertmanager_values`, secret; default none), a PodMonitor per
    profile, the DCGM ServiceMonitor, the gateway's PodMonitor (default none), the rules and the dashboard."""

    releases: tuple[AddonRelease, ...]
    pod_monitors: tuple[tuple[str, Manifest], ...]
    dcgm_monitor: Manifest
    rules: Manifest
    dashboard: Manifest
    namespace: Manifest | None = None
    grafana_secret: Manifest | None = None
    grafana_admin_password: SecretStr | None = None
    alertmanager_values: dict[str, Any] | None = field(default=None, repr=False)
    gateway_monitor: Manifest | None = None
    picker_monitors: tuple[tuple[str, Manifest], ...] = ()
    """With cache-aware routing, a PodMonitor per profile's endpoint picker (default none)."""


def monitoring_args(config: StackConfig, stack: str) -> MonitoringArgs:
    """The stack's monitoring (`monitoring`), its alerts and dashboard named after `stack`."""
    installs = config.monitoring.install_stack
    namespace = config.kubernetes.monitoring_namespace
    return MonitoringArgs(
        releases=tuple(monitoring_releases(config)),
        pod_monitors=tuple((p.name, pod_monitor_manifest(config, p)) for p in config.models),
        dcgm_monitor=dcgm_service_monitor_manifest(config),
        rules=prometheus_rule_manifest(config, stack),
        dashboard=dashboard_config_map_manifest(config, stack),
        # The stack's namespace is ours: created first, so the Grafana Secret has somewhere to go.
        namespace={
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"app.kubernetes.io/part-of": "llmscale"}},
        }
        if installs
        else None,
        grafana_secret=_secret(GRAFANA_SECRET, namespace) if installs and config.grafana_admin_password else None,
        grafana_admin_password=config.grafana_admin_password if installs else None,
        alertmanager_values=alertmanager_values(config),
        # Its namespace is created by the Envoy Gateway release.
        gateway_monitor=gateway_pod_monitor_manifest(config) if config.kubernetes.addons.envoy_gateway else None,
        picker_monitors=tuple((p.name, epp_pod_monitor_manifest(p, config.kubernetes.namespace)) for p in config.models)
        if cache_aware(config)
        else (),
    )


@dataclass(frozen=True)
class ServingLayerArgs:
    """Everything that serves a stack's profiles on one cluster: the add-on releases, the namespace and its
    priority classes, service account, network policy and model cache (default none), the Hugging Face token
    Secret (default none), a `VllmModelArgs` per profile, monitoring and the gateway. With `public_service`
    (platform aws; default none) a load balancer fronts the gateway."""

    addons: tuple[AddonRelease, ...]
    namespace: Manifest
    priority_classes: tuple[Manifest, ...]
    service_account: Manifest
    network_policy: Manifest
    models: tuple[VllmModelArgs, ...]
    monitoring: MonitoringArgs
    gateway: InferenceGatewayArgs
    model_cache: Manifest | None = None
    hf_token_secret: Manifest | None = None
    hf_token: SecretStr | None = None
    public_service: tuple[str, str] | None = None
    """(the Envoy pods' namespace, the Gateway's namespace) of the load balancer's Service."""
    crds: tuple[Manifest, ...] = ()
    """CRDs an add-on needs when it starts, applied before the add-ons (default none)."""
    routing: tuple[Manifest, ...] = ()
    """With cache-aware routing: each profile's InferencePool, objective and endpoint picker (default none)."""


def serving_layer_args(
    config: StackConfig, name: str, *, expose: bool = False, standby: bool = False, aws_region: str | None = None
) -> ServingLayerArgs:
    """The stack's serving layer named `name`, at its primary site or its warm standby (`standby`); `expose`
    puts a load balancer in front of the gateway (platform aws)."""
    has_hf_token = config.hf_token is not None
    return ServingLayerArgs(
        addons=tuple(addon_releases(config)),
        namespace=namespace_manifest(config),
        priority_classes=tuple(priority_class_manifests()),
        service_account=service_account_manifest(config),
        network_policy=network_policy_manifest(config),
        models=tuple(
            vllm_model_args(config, p, has_hf_token=has_hf_token, standby=standby, aws_region=aws_region)
            for p in config.models
        ),
        monitoring=monitoring_args(config, name),
        gateway=inference_gateway_args(config),
        model_cache=model_cache_claim_manifest(config),
        hf_token_secret=_secret(HF_TOKEN_SECRET, config.kubernetes.namespace) if has_hf_token else None,
        hf_token=config.hf_token,
        public_service=(config.kubernetes.gateway_namespace, config.kubernetes.namespace) if expose else None,
        crds=tuple(crd_manifests()) if cache_aware(config) else (),
        routing=tuple(_routing_objects(config)),
    )


def _routing_objects(config: StackConfig) -> list[Manifest]:
    if not cache_aware(config):
        return []
    k8s = config.kubernetes
    return [
        manifest
        for profile in config.models
        for manifest in cache_aware_manifests(
            profile,
            k8s.namespace,
            replicas=config.routing.picker_replicas(config.tier),
            gateway_namespace=k8s.gateway_namespace,
            monitoring_namespace=k8s.monitoring_namespace,
            monitoring=False,
            # With LoRA adapters the picker prefers a pod that already holds the requested one.
            adapters=bool(profile.adapters),
        )
    ]
