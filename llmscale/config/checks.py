"""Checks across keys that a single field cannot make: tier against platform, sizes against the GPU node.

These run after the schema accepted every key, so they can rely on typed values. Each returns Problems that
name the key to change.
"""

from __future__ import annotations

from llmscale import versions
from llmscale.config.adapters import adapter_problems
from llmscale.config.deploy_checks import deploy_checks
from llmscale.config.errors import REGION_KEY, Problem, dotted_key
from llmscale.config.models import (
    AwsStackConfig,
    ClusterSections,
    HostStackConfig,
    KubernetesStackConfig,
    Platform,
    RoutingStrategy,
    StackConfig,
    Tier,
)
from llmscale.config.regions import region_problem
from llmscale.serving.api_keys import SECRET_PLACEHOLDER, api_key_problem
from llmscale.serving.vllm_args import MODELLED_FLAGS, flag_name

PLATFORMS_BY_TIER: dict[Tier, tuple[Platform, ...]] = {
    Tier.SINGLE_GPU: (Platform.AWS, Platform.HOST),
    Tier.MULTI_GPU: (Platform.AWS, Platform.KUBERNETES),
    Tier.ENTERPRISE: (Platform.AWS, Platform.KUBERNETES),
}

AWS_ONLY_HOST_KEYS = ("subnetId", "availabilityZone", "hostedZoneId")


def tier_platform_problems(tier: object, platform: object) -> list[Problem]:
    """A platform the stated tier does not run on, from the raw values (before the schema picks the platform's
    variant, whose complaints about the tier's keys would otherwise hide the cause); none when either is invalid."""
    try:
        tier, platform = Tier(tier), Platform(platform)
    except ValueError:
        return []
    allowed = PLATFORMS_BY_TIER[tier]
    if platform in allowed:
        return []
    hint = {
        Platform.HOST: "an existing server hosts only the single-gpu tier; use platform kubernetes for a cluster",
        Platform.KUBERNETES: "a single GPU needs no cluster; use tier multi-gpu, or platform host or aws",
    }.get(platform, "")
    return [
        Problem(
            dotted_key(["platform"]),
            f"{platform} does not fit tier {tier} (allowed: {', '.join(allowed)}); {hint}",
        )
    ]


def _single_gpu(config: StackConfig) -> list[Problem]:
    if config.tier is not Tier.SINGLE_GPU:
        return []
    problems = []
    if len(config.models) != 1:
        problems.append(
            Problem(
                dotted_key(["models"]),
                f"the single-gpu tier serves one model profile, got {len(config.models)}; "
                "use tier multi-gpu for several profiles",
            )
        )
    for index, profile in enumerate(config.models):
        if profile.max_replicas > 1:
            problems.append(
                Problem(
                    dotted_key(["models", index, "maxReplicas"]),
                    "the single-gpu tier runs one replica; set 1 or use tier multi-gpu",
                )
            )
    if isinstance(config, AwsStackConfig) and not config.host.allowed_cidrs:
        problems.append(
            Problem(
                dotted_key(["host", "allowedCidrs"]),
                "required on platform aws: the networks allowed to reach HTTPS (for example 203.0.113.0/24)",
            )
        )
    if isinstance(config, HostStackConfig):
        for key in AWS_ONLY_HOST_KEYS:
            if getattr(config.host, _snake(key)) is not None:
                problems.append(Problem(dotted_key(["host", key]), "only used on platform aws; remove it"))
    return problems


def _routing(config: StackConfig) -> list[Problem]:
    # The single-gpu tier states no routing at all (`_tier_scoped_keys`).
    if (
        not isinstance(config, ClusterSections)
        or config.tier is Tier.SINGLE_GPU
        or config.routing.strategy is not RoutingStrategy.CACHE_AWARE
    ):
        return []
    return [
        # One InferencePool per rule: the AI Gateway's hooks fail on a rule with two pools, and Envoy Gateway then
        # keeps its previous configuration for every route (ai-gateway v1.1.0 post_cluster_modify.go:48-52).
        Problem(
            dotted_key(["models", index, "canary"]),
            "a canary splits traffic by weight, which cache-aware routing cannot do (the endpoint picker chooses "
            "the pod); use least-loaded routing while a canary runs",
        )
        for index, profile in enumerate(config.models)
        if profile.canary is not None
    ]


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def _replica_fits_node(config: StackConfig) -> list[Problem]:
    node_gpus = config.gpu.gpus
    return [
        Problem(
            dotted_key(["models", index, "gpusPerReplica"]),
            f"{profile.gpus_per_replica} GPUs do not fit one {config.gpu.instance_type} node ({node_gpus} GPUs); "
            "choose a larger gpu.instanceType or fewer GPUs per replica",
        )
        for index, profile in enumerate(config.models)
        if profile.gpus_per_replica > node_gpus
    ]


def _context_fits_load(config: StackConfig) -> list[Problem]:
    needed = config.load.prompt_tokens + config.load.output_tokens
    return [
        Problem(
            dotted_key(["models", index, "maxModelLen"]),
            f"{profile.max_model_len} is shorter than load.promptTokens + load.outputTokens ({needed}); "
            "raise maxModelLen or lower the load's token counts",
        )
        for index, profile in enumerate(config.models)
        if profile.max_model_len < needed
    ]


def _schedule_floor(config: StackConfig) -> list[Problem]:
    if not config.schedule.enabled:
        return []
    floor = config.schedule.off_hours_min_replicas
    too_small = [p.name for p in config.models if p.max_replicas < floor]
    if not too_small:
        return []
    return [
        Problem(
            dotted_key(["schedule", "offHoursMinReplicas"]),
            f"{floor} is above maxReplicas of {', '.join(too_small)}; lower it or raise their maxReplicas",
        )
    ]


def _extra_args(config: StackConfig) -> list[Problem]:
    problems = []
    for index, profile in enumerate(config.models):
        for arg in profile.extra_args:
            if flag_name(arg) in MODELLED_FLAGS:
                problems.append(
                    Problem(
                        dotted_key(["models", index, "extraArgs"]),
                        f"{flag_name(arg)} is set by llmscale from the profile's keys; set the key instead",
                    )
                )
    return problems


def _tier_scoped_keys(config: StackConfig) -> list[Problem]:
    stated = config.declared_keys
    problems = []
    if config.tier is Tier.SINGLE_GPU:
        for key in ("kubernetes", "gateway", "routing", "autoscaling", "eks"):
            if key in stated:
                problems.append(
                    Problem(dotted_key([key]), "only used by the multi-gpu and enterprise tiers; remove it")
                )
        for index, profile in enumerate(config.models):
            if profile.canary is not None:
                problems.append(
                    Problem(dotted_key(["models", index, "canary"]), "canaries need the multi-gpu or enterprise tier")
                )
            for field, key in (("queue_depth_target", "queueDepthTarget"), ("in_flight_target", "inFlightTarget")):
                if field in profile.model_fields_set:
                    problems.append(
                        Problem(
                            dotted_key(["models", index, key]),
                            "only used by the multi-gpu and enterprise tiers (the single host runs one replica, "
                            "no autoscaler); remove it",
                        )
                    )
    elif "host" in stated:
        problems.append(Problem(dotted_key(["host"]), "only used by the single-gpu tier; remove it"))
    if isinstance(config, AwsStackConfig):
        problems.extend(_eks_keys(config))
    return problems


def _eks_keys(config: AwsStackConfig) -> list[Problem]:
    stated = config.declared_keys
    problems = []
    version = config.eks.kubernetes_version
    if version not in versions.EKS_RELEASES:
        known = ", ".join(sorted(versions.EKS_RELEASES))
        problems.append(
            Problem(
                dotted_key(["eks", "kubernetesVersion"]),
                f"{version} is not one llmscale pins a cluster autoscaler for ({known})",
            )
        )
    if config.tier is Tier.ENTERPRISE and config.eks.zone_total < 3:
        problems.append(Problem(dotted_key(["eks", "zoneCount"]), "the enterprise tier spans at least 3 zones"))
    if "kubernetes" in stated:
        for key in ("kubeconfig", "context"):
            if getattr(config.kubernetes, key) is not None:
                problems.append(
                    Problem(dotted_key(["kubernetes", key]), "platform aws builds its own cluster; remove it")
                )
    return problems


def _eks_endpoint(config: StackConfig) -> list[Problem]:
    """The cluster's API endpoint is reachable from the networks the stack names, never by default from all."""
    if not isinstance(config, AwsStackConfig) or config.tier is Tier.SINGLE_GPU:
        return []
    eks = config.eks
    if eks.endpoint_public_access and not eks.public_access_cidrs:
        return [
            Problem(
                dotted_key(["eks", "publicAccessCidrs"]),
                "required on platform aws: the networks allowed to reach the Kubernetes API (your CI runners and "
                "administrators, for example 203.0.113.0/24), or set eks.endpointPublicAccess: false and deploy "
                "from inside the VPC (docs/security.md)",
            )
        ]
    return []


def _failover(config: StackConfig) -> list[Problem]:
    failover = config.failover if isinstance(config, ClusterSections) else None
    if failover is None:
        return []
    if config.tier is not Tier.ENTERPRISE:
        return [Problem(dotted_key(["failover"]), "DNS failover belongs to the enterprise tier; remove it or use it")]
    problems = []
    hostname = config.gateway.hostname
    if hostname is not None and hostname != failover.record_name:
        problems.append(
            Problem(
                dotted_key(["gateway", "hostname"]),
                f"the gateway answers {hostname} only, but clients come through {failover.record_name}: use the "
                "same name or leave gateway.hostname unset",
            )
        )
    for key, endpoint in (
        ("standbyEndpoint", failover.standby_endpoint),
        ("primaryEndpoint", failover.primary_endpoint),
    ):
        problem = _endpoint_problem(endpoint)
        if problem:
            problems.append(Problem(dotted_key(["failover", key]), problem))
    if isinstance(config, KubernetesStackConfig) and failover.primary_endpoint is None:
        problems.append(
            Problem(
                dotted_key(["failover", "primaryEndpoint"]),
                "required on platform kubernetes: the public host name or IPv4 address the cluster's gateway answers "
                "on, which the primary health check probes",
            )
        )
    if isinstance(config, AwsStackConfig) and failover.primary_endpoint is not None:
        problems.append(
            Problem(
                dotted_key(["failover", "primaryEndpoint"]),
                "platform aws health-checks the load balancer it builds; remove it",
            )
        )
    if failover.standby_region is not None:
        if not isinstance(config, AwsStackConfig):
            problems.append(
                Problem(
                    dotted_key(["failover", "standbyRegion"]),
                    "only platform aws builds a standby region; give standbyEndpoint instead",
                )
            )
        elif failover.standby_region == config.region:
            problems.append(
                Problem(
                    dotted_key(["failover", "standbyRegion"]), f"is the primary region ({config.region}); pick another"
                )
            )
    return problems


def _endpoint_problem(endpoint: str | None) -> str | None:
    """Why Route 53 could not health-check an endpoint (a private or reserved address), or None."""
    from llmscale.aws.dns import endpoint_kind

    if endpoint is None:
        return None
    try:
        endpoint_kind(endpoint)
    except ValueError:
        return (
            "must be a public host name or a public IPv4 address: Route 53 health checkers probe it from the internet"
        )
    return None


def _api_keys(config: StackConfig) -> list[Problem]:
    """Clients authenticate with `llmscale:apiKeys` wherever llmscale deploys a gateway (not on an existing host,
    whose keys are files on that server)."""
    key = dotted_key(["apiKeys"])
    if config.api_keys is None:
        if config.platform is Platform.HOST:
            return []
        return [
            Problem(
                key,
                "required: clients authenticate with these keys; run "
                '`pulumi config set --secret llmscale:apiKeys \'{"team-a": "<key>"}\'`',
            )
        ]
    text = config.api_keys.get_secret_value()
    if text == SECRET_PLACEHOLDER:
        return []  # encrypted: checked where it can be decrypted
    problem = api_key_problem(text)
    return [Problem(key, problem)] if problem else []


def _region(config: StackConfig) -> list[Problem]:
    """A region the schema's pattern accepts but AWS does not have (the schema requires it on platform aws)."""
    region = getattr(config, "region", None)
    problem = region_problem(region) if region else None
    return [Problem(REGION_KEY, problem)] if problem else []


def cross_checks(config: StackConfig) -> list[Problem]:
    """Every problem that involves more than one key, in a stable order."""
    return [
        *_region(config),
        *_single_gpu(config),
        *_routing(config),
        *_replica_fits_node(config),
        *_context_fits_load(config),
        *_schedule_floor(config),
        *_extra_args(config),
        *_tier_scoped_keys(config),
        *_eks_endpoint(config),
        *_failover(config),
        *_api_keys(config),
        *deploy_checks(config),
        *adapter_problems(config),
    ]
