"""Checks of what a real deployment needs that no single key can say: where TLS is terminated on each platform,
which site reads which model store, and names that must fit AWS limits.

Each returns Problems naming the key to change; `cross_checks` runs them with the other cross-key checks.
"""

from __future__ import annotations

from llmscale.config.errors import Problem, dotted_key
from llmscale.config.models import (
    ClusterSections,
    ClusterStackConfig,
    ModelCacheType,
    Platform,
    StackConfig,
    Tier,
    failover_of,
)
from llmscale.serving.vllm_args import store_path

# The longest suffix llmscale appends to the stack name in an auto-named AWS resource whose name AWS limits,
# and Pulumi's random suffix (`-` and 7 hex digits). IAM role names are limited to 64 characters: the longest
# logical name is the standby cluster autoscaler's role, `<stack>-standby-autoscaler-role`
# (tests/test_deploy_names.py plans every example stack under the longest accepted name and checks every
# auto-named resource against its limit).
IAM_ROLE_NAME_LIMIT = 64
PULUMI_SUFFIX = 8
LONGEST_ROLE_SUFFIX = len("-standby-autoscaler-role")
MAX_STACK_NAME = IAM_ROLE_NAME_LIMIT - PULUMI_SUFFIX - LONGEST_ROLE_SUFFIX


def stack_name_problems(name: str, platform: Platform) -> list[Problem]:
    """A stack name that would push auto-named IAM roles past AWS's 64-character limit (platform aws only)."""
    if platform is not Platform.AWS or len(name) <= MAX_STACK_NAME:
        return []
    return [
        Problem(
            "stack name",
            f"is {len(name)} characters; on platform aws at most {MAX_STACK_NAME}, so that the IAM role names "
            f"derived from it stay within AWS's {IAM_ROLE_NAME_LIMIT}-character limit",
        )
    ]


def _gateway_tls(config: ClusterStackConfig) -> list[Problem]:
    gateway, stated = config.gateway, config.declared_keys
    problems = []
    if config.platform is Platform.AWS:
        if gateway.tls_secret_name is not None:
            problems.append(
                Problem(
                    dotted_key(["gateway", "tlsSecretName"]),
                    "platform aws terminates TLS at its load balancer with an ACM certificate: set gateway.hostname "
                    "and gateway.hostedZoneId instead",
                )
            )
        if gateway.tls_terminated_upstream:
            problems.append(
                Problem(
                    dotted_key(["gateway", "tlsTerminatedUpstream"]),
                    "only for an existing cluster (platform kubernetes); remove it",
                )
            )
        if "gateway" in stated and gateway.service_type.value != "LoadBalancer":
            problems.append(
                Problem(
                    dotted_key(["gateway", "serviceType"]),
                    "only for an existing cluster (platform kubernetes): on platform aws llmscale fronts the gateway "
                    "with its own Network Load Balancer",
                )
            )
        if gateway.hosted_zone_id is not None and gateway.hostname is None:
            problems.append(
                Problem(dotted_key(["gateway", "hostname"]), "gateway.hostedZoneId is set, so name the host in it")
            )
    elif gateway.hosted_zone_id is not None:
        problems.append(
            Problem(
                dotted_key(["gateway", "hostedZoneId"]),
                "only used on platform aws; on an existing cluster give gateway.tlsSecretName",
            )
        )
    return problems


def _model_sources(config: StackConfig) -> list[Problem]:
    problems = []
    failover = failover_of(config)
    standby_built = failover is not None and failover.standby_region is not None
    has_store = config.platform is Platform.AWS and config.tier is not Tier.SINGLE_GPU
    for index, profile in enumerate(config.models):
        key = dotted_key(["models", index, "model"])
        sources = [profile.model, *([profile.canary.model] if profile.canary and profile.canary.model else [])]
        for source in sources:
            if store_path(source) is not None and not has_store:
                problems.append(
                    Problem(
                        key,
                        "store:// reads the stack's model store, which only the multi-gpu and enterprise tiers "
                        "on platform aws have; use a Hugging Face id or an s3:// URI",
                    )
                )
            elif source.startswith("s3://") and standby_built:
                problems.append(
                    Problem(
                        key,
                        "an s3:// bucket would be read from both regions, but the standby may read only its own "
                        "replica of the model store: write store://org/model/ (the path in the model store)",
                    )
                )
    return problems


def _model_cache(config: ClusterStackConfig) -> list[Problem]:
    cache = config.kubernetes.model_cache
    if config.platform is Platform.AWS and cache.type is ModelCacheType.PVC and cache.storage_class is None:
        return [
            Problem(
                dotted_key(["kubernetes", "modelCache", "storageClass"]),
                "a shared cache needs ReadWriteMany volumes, which the cluster's default gp3 class cannot give "
                "(EBS volumes mount on one node): name an EFS class, or use type emptyDir or hostPath",
            )
        ]
    return []


def deploy_checks(config: StackConfig) -> list[Problem]:
    """Every deploy-time problem of the config, in a stable order."""
    if not isinstance(config, ClusterSections):
        return _model_sources(config)
    return [*_gateway_tls(config), *_model_sources(config), *_model_cache(config)]
