"""The Kubernetes keys: the cluster, the inference gateway, autoscaling and monitoring."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from llmscale.config.base import (
    ABS_PATH,
    CLUSTER_TIERS,
    DEFAULT_RUNBOOK_URL,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    DOMAIN,
    HTTP_URL,
    LABEL_KEY,
    RUNBOOK_URL,
    ZONE_ID,
    ConfigModel,
    Platform,
    scope,
)


class ModelCacheType(StrEnum):
    """Where vLLM keeps downloaded weights on Kubernetes."""

    EMPTY_DIR = "emptyDir"
    HOST_PATH = "hostPath"
    PVC = "pvc"


class ModelCacheConfig(ConfigModel):
    """The model cache of vLLM pods: per pod (emptyDir), per node (hostPath) or shared (a ReadWriteMany claim)."""

    type: ModelCacheType = Field(
        default=ModelCacheType.EMPTY_DIR,
        description="Where downloaded weights live: `emptyDir` (per pod, gone with it), `hostPath` (per node, kept "
        "across restarts; the namespace then enforces the privileged Pod Security level) or `pvc` (one "
        "ReadWriteMany claim shared by every replica).",
    )
    size_gb: Annotated[
        int,
        Field(
            ge=10,
            le=65_536,
            description="Size of the cache in GiB: the emptyDir's size limit, or the claim's request for `pvc`.",
        ),
    ] = 200
    storage_class: Annotated[
        str | None,
        Field(
            pattern=DNS_SUBDOMAIN,
            description="The StorageClass of the `pvc` claim; it must give ReadWriteMany volumes (EFS on AWS, where "
            "it is required); none: the cluster's default class.",
        ),
    ] = None
    host_path: Annotated[
        str,
        Field(pattern=ABS_PATH, description="The node directory of the `hostPath` cache, handed to vLLM's user."),
    ] = "/var/lib/llmscale/models"
    stream_weights: bool = Field(
        default=False,
        description="Stream `store://` and `s3://` weights from S3 into GPU memory with the Run:ai model streamer "
        "(`--load-format runai_streamer`) instead of copying them into this cache first (an init container, "
        "`aws s3 sync`). Off by default: that the pinned vLLM image ships `runai-model-streamer[s3]` is not "
        "verified at its tag (docs/model-loading.md).",
    )


class AddonsConfig(ConfigModel):
    """Cluster add-ons llmscale installs; turn one off when the cluster already runs it."""

    nvidia_device_plugin: bool = Field(
        default=True,
        description="Install NVIDIA's device plugin, which advertises `nvidia.com/gpu` on GPU nodes (the GPU "
        "Operator and Bottlerocket bring their own).",
    )
    keda: bool = Field(default=True, description="Install KEDA, which scales each profile on its queue depth.")
    envoy_gateway: bool = Field(
        default=True,
        description="Install Envoy Gateway, the controller of the inference gateway (Gateway API).",
    )
    ai_gateway: bool = Field(
        default=True,
        description="Install the Envoy AI Gateway when routing is `cache-aware`: it lets Envoy Gateway send a "
        "route to an InferencePool. Off when the cluster already runs it (v1.1.0 or later).",
    )


class KubernetesConfig(ConfigModel):
    """The cluster the serving layer runs on and how GPU nodes are recognised."""

    kubeconfig: Annotated[
        str | None,
        Field(
            min_length=1,
            description="Path to a kubeconfig file, or its contents, for the existing cluster; none: $KUBECONFIG or "
            "~/.kube/config, as kubectl.",
            json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
        ),
    ] = None
    context: Annotated[
        str | None,
        Field(
            min_length=1,
            description="The kubeconfig context of the cluster; none: the current context. `llmscale render`'s "
            "addons.sh refuses any other context.",
            json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
        ),
    ] = None
    namespace: Annotated[
        str,
        Field(pattern=DNS_LABEL, description="The namespace llmscale puts every serving object in (never default)."),
    ] = "llmscale"
    addons: AddonsConfig = Field(
        default=AddonsConfig(),
        description="Cluster add-ons llmscale installs as pinned Helm releases; turn off those the cluster runs.",
    )
    gpu_node_selector: dict[str, str] = Field(
        default={"nvidia.com/gpu.present": "true"},
        description="Node labels that mark GPU nodes: vLLM, the device plugin and dcgm-exporter run only there "
        "(the default label is one NVIDIA's device plugin chart selects on; llmscale puts it on the EKS GPU nodes).",
    )
    gpu_taint_key: Annotated[
        str,
        Field(
            pattern=LABEL_KEY,
            description="Key of the NoSchedule taint on GPU nodes, which vLLM and the GPU daemons tolerate, so "
            "that nothing else lands on a GPU.",
        ),
    ] = "nvidia.com/gpu"
    model_cache: ModelCacheConfig = Field(
        default=ModelCacheConfig(), description="Where vLLM keeps downloaded model weights."
    )
    prometheus_url: Annotated[
        str,
        Field(
            pattern=HTTP_URL,
            description="The Prometheus KEDA asks for the queue depth of each profile; the default is the one "
            "kube-prometheus-stack installs (monitoring.installStack).",
        ),
    ] = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    gateway_namespace: Annotated[
        str,
        Field(
            pattern=DNS_LABEL,
            description="The namespace of Envoy Gateway and its proxies: the only one, with monitoring, allowed to "
            "reach vLLM.",
        ),
    ] = "envoy-gateway-system"
    monitoring_namespace: Annotated[
        str,
        Field(
            pattern=DNS_LABEL,
            description="The namespace of kube-prometheus-stack, dcgm-exporter and the dashboard; with the gateway's, "
            "the only one allowed to reach vLLM (to scrape it).",
        ),
    ] = "monitoring"
    topology_spread: bool = Field(
        default=False,
        description="Spread each profile's replicas evenly over zones (a hard constraint), so losing a zone "
        "leaves most of them; replicas always spread over nodes where they can.",
    )


class GatewayServiceType(StrEnum):
    """How the gateway's Envoy proxies are reached on an existing cluster (platform kubernetes)."""

    LOAD_BALANCER = "LoadBalancer"
    NODE_PORT = "NodePort"
    CLUSTER_IP = "ClusterIP"


class GatewayConfig(ConfigModel):
    """The inference gateway's public side: host name, TLS, data-plane replicas and per-key rate limits."""

    hostname: Annotated[
        str | None,
        Field(
            pattern=DOMAIN,
            description="The DNS name clients use. On platform aws with `hostedZoneId`, llmscale writes the record "
            "and gets a TLS certificate for it.",
        ),
    ] = None
    hosted_zone_id: Annotated[
        str | None,
        Field(
            pattern=ZONE_ID,
            description="The Route 53 hosted zone of `hostname`. The load balancer then serves HTTPS "
            "on 443 with a DNS-validated ACM certificate; without it the load balancer is internal to the VPC.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None
    tls_secret_name: Annotated[
        str | None,
        Field(
            pattern=DNS_SUBDOMAIN,
            description="A kubernetes.io/tls Secret in the stack's namespace; model routes are "
            "then served on HTTPS (443) only.",
            json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
        ),
    ] = None
    tls_terminated_upstream: bool = Field(
        default=False,
        description="TLS is terminated in front of the gateway (your own load balancer or "
        "ingress), so plain HTTP inside the cluster is intended.",
        json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
    )
    service_type: GatewayServiceType = Field(
        default=GatewayServiceType.LOAD_BALANCER,
        description="The type of the Envoy proxies' Service (ClusterIP when you bring your own "
        "ingress). On platform aws llmscale fronts the proxies with its own Network Load Balancer.",
        json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
    )
    replicas: Annotated[
        int,
        Field(ge=1, le=20, description="Envoy proxy replicas, spread over zones, with a disruption budget."),
    ] = 2
    rate_limit_requests_per_minute: Annotated[
        int | None,
        Field(
            ge=1,
            le=1_000_000,
            description="Requests per minute each API key may send to a profile, counted by each Envoy replica "
            "(a local limit); beyond it the gateway answers HTTP 429. None: no limit (the enterprise preset sets "
            "one).",
        ),
    ] = None
    max_parallel_requests: Annotated[
        int | None,
        Field(
            ge=1,
            le=1_000_000,
            description="Requests in flight the gateway lets through to one profile (Envoy's circuit breaker); "
            "beyond it, HTTP 503 at once. None: what the profile's replicas admit at their maximum (maxReplicas × "
            "the in-flight limit of a replica), so nothing queues unseen in Envoy.",
        ),
    ] = None


class AutoscalingConfig(ConfigModel):
    """How fast replicas follow the queue: slow down-scaling, because a cold start takes minutes."""

    polling_interval_seconds: Annotated[
        int,
        Field(ge=5, le=300, description="Seconds between KEDA's looks at each profile's queue depth."),
    ] = 15
    # Both windows are at most an hour: the API server rejects a longer one in the HPA KEDA creates
    # (kubernetes pkg/apis/autoscaling/validation/validation.go, MaxStabilizationWindowSeconds = 3600; the KEDA
    # v2.20 ScaledObject CRD says so in horizontalPodAutoscalerConfig.behavior but does not enforce it).
    scale_up_stabilization_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description="Seconds the autoscaler waits for a higher replica count to hold before adding replicas "
            "(the HPA's scale-up stabilization window); 0 adds them at once.",
        ),
    ] = 0
    # An hour by default. Queue-depth scaling has no steady state near saturation: the queue trigger asks for
    # replicas only once every seat is busy, the in-flight trigger for as few as can hold every request in one
    # full batch, so replicas go up on a queue, arrive after a cold start (node, image, weights: 7-8 minutes on
    # EKS) and, once they have emptied it, come down again towards the size that queues. `llmscale simulate`
    # (built-in day, seeds 0-4, means) with a 10-minute window: the enterprise example reverses 3-6 times an hour
    # (`scale-flapping`), new 300- and 600-user enterprise stacks 4-6. Holding the hour's highest recommendation
    # stretches the cycle beyond the hour: 1-2 reversals an hour on every seed (30 and 45 minutes still give 3-4
    # on some), for 3-10 % more GPU-hours (enterprise example 250 -> 266, 300 users 84.5 -> 92.5, 600 users 205 ->
    # 219, multi-gpu example 25.9 -> 26.8) and fewer SLO-violation minutes (enterprise example 409 -> 247).
    scale_down_stabilization_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description="Seconds a lower replica count must hold before replicas are removed (the HPA's scale-down "
            "stabilization window, at most an hour): long, because bringing a replica back takes minutes of node "
            "start and model loading, and a queue-driven autoscaler otherwise adds and removes replicas in a "
            "cycle.",
        ),
    ] = 3600
    cooldown_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=7200,
            description="Seconds after the last active trigger before KEDA scales a profile whose floor is zero "
            "down to zero (KEDA's cooldownPeriod).",
        ),
    ] = 300


class MonitoringConfig(ConfigModel):
    """Metrics, alerts and dashboards: what to install, how long to keep data, where the runbook lives."""

    install_stack: bool = Field(
        default=True,
        description="Install kube-prometheus-stack (Prometheus operator, Prometheus, Alertmanager, Grafana, "
        "kube-state-metrics); false when the cluster runs its own, which must then pick up llmscale's "
        "PrometheusRule, PodMonitors and dashboard ConfigMap.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    install_dcgm_exporter: bool = Field(
        default=True,
        description="Install dcgm-exporter, whose GPU metrics the GPU alerts and dashboard panels read; false when "
        "the cluster runs it already.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    retention_days: Annotated[
        int,
        Field(ge=1, le=3650, description="Days Prometheus keeps metrics (on the single host and on Kubernetes)."),
    ] = 15
    storage_gb: Annotated[
        int,
        Field(
            ge=5,
            le=65_536,
            description="Size of Prometheus's volume in GiB.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = 50
    storage_class: Annotated[
        str | None,
        Field(
            pattern=DNS_SUBDOMAIN,
            description="The StorageClass of Prometheus's volume; none: on platform aws the encrypted gp3 class "
            "llmscale creates (EKS has no default class), elsewhere the cluster's default.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = None
    runbook_url: Annotated[
        str,
        Field(
            min_length=1,
            pattern=RUNBOOK_URL,
            description="The runbook page every alert links to (its `runbook_url` annotation, clickable from a "
            "pager), with the alert's section as anchor. The default is docs/runbook.md in llmscale's repository; "
            "point it at your own copy to add your team's steps.",
        ),
    ] = DEFAULT_RUNBOOK_URL
