"""KEDA ScaledObjects: replicas follow the per-replica queue, with a floor during active hours.

Queue depth (`vllm:num_requests_waiting`) is the load signal; GPU utilisation is not. Outside the active
window the floor falls to the off-hours minimum, possibly zero; a queue that only running pods report cannot
wake a profile at zero, so the cron window brings it back each morning.
"""

from __future__ import annotations

from llmscale.config.models import AwsStackConfig, ModelProfile, StackConfig
from llmscale.k8s.labels import labels, workload_name
from llmscale.k8s.objects import Manifest
from llmscale.serving.metrics import VLLM_QUEUE_DEPTH, VLLM_RUNNING
from llmscale.serving.schedules import CronWindow, cron_window, with_lead_time

_CRON_DAY = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def canary_pods_excluded(profile_name: str) -> str:
    """The selector term that leaves a profile's canary pods out of a query: the canary runs a fixed number of
    replicas, and its requests counted against the stable Deployment's replicas would scale those up for load
    they do not carry. Pod names are `<Deployment>-<template hash>-<suffix>`; a template hash has no vowels, so
    `<profile>-canary-` matches the canary's pods only. Prometheus-operator sets the `pod` label on every
    PodMonitor target (pkg/prometheus/promcfg.go:1600-1613 at v0.93.0, generatePodMonitorConfig)."""
    return f'pod!~"{profile_name}-canary-.+"'


def _stable_pods(profile: ModelProfile) -> str:
    return f",{canary_pods_excluded(profile.name)}" if profile.canary is not None else ""


def queue_query(namespace: str, profile: ModelProfile) -> str:
    """PromQL for the requests waiting in the stable replicas of a profile; KEDA divides it by their count."""
    return f'sum({VLLM_QUEUE_DEPTH}{{namespace="{namespace}",model_name="{profile.name}"{_stable_pods(profile)}}})'


def in_flight_query(namespace: str, profile: ModelProfile) -> str:
    """PromQL for the requests a profile's stable replicas hold, running or waiting."""
    names = f"{VLLM_RUNNING}|{VLLM_QUEUE_DEPTH}"
    selector = f'__name__=~"{names}",namespace="{namespace}",model_name="{profile.name}"{_stable_pods(profile)}'
    return f"sum({{{selector}}})"


def _cron(minute: int, hour: int, days: tuple[str, ...]) -> str:
    return f"{minute} {hour} * * {','.join(str(_CRON_DAY[d]) for d in days)}"


def cron_expressions(window: CronWindow) -> tuple[str, str]:
    """The window's start and end as the five-field cron expressions KEDA's cron scaler takes."""
    return (
        _cron(window.start_minute, window.start_hour, window.start_days),
        _cron(window.end_minute, window.end_hour, window.end_days),
    )


def replica_floor(config: StackConfig, profile: ModelProfile) -> int:
    """`minReplicaCount`: the off-hours minimum when a night schedule applies, else the profile's minimum."""
    if config.schedule.enabled and profile.min_replicas >= 1:
        return min(config.schedule.off_hours_min_replicas, profile.min_replicas)
    return profile.min_replicas


def scaled_object_manifest(config: StackConfig, profile: ModelProfile) -> Manifest:
    """The ScaledObject of a profile's Deployment: queue-depth trigger, cron floor, slow scale-down."""
    namespace = config.kubernetes.namespace
    scaling = config.autoscaling
    triggers: list[Manifest] = [
        {
            "type": "prometheus",
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": config.kubernetes.prometheus_url,
                "query": queue_query(namespace, profile),
                # Trigger metadata values are strings: the CRD rejects numbers.
                "threshold": str(profile.queue_depth_target),
                "ignoreNullValues": "true",
            },
        },
        # KEDA v2.20 scales to zero when every trigger is inactive for `cooldownPeriod` (`scaleToZeroOrIdle`,
        # pkg/scaling/executor/scale_scaledobjects.go), and a prometheus trigger is active only while its value
        # exceeds `activationThreshold` (`GetMetricsAndActivity`, pkg/scalers/prometheus_scaler.go). The queue
        # alone is empty while requests are still generating: this trigger keeps the profile active while any
        # request is in flight. Its threshold is the requests in flight one replica carries within the SLO
        # (`inFlightTarget`), so replicas are added as the load grows, not once batches are full and a queue forms.
        {
            "type": "prometheus",
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": config.kubernetes.prometheus_url,
                "query": in_flight_query(namespace, profile),
                "threshold": str(profile.in_flight_threshold),
                "activationThreshold": "0",
                "ignoreNullValues": "true",
            },
        },
    ]
    if config.schedule.enabled and profile.min_replicas >= 1:
        # Models take minutes to load (and on the cluster llmscale builds, GPU nodes to start): open the window
        # that much earlier.
        lead = (
            config.eks.scale_up_lead_minutes if isinstance(config, AwsStackConfig) else config.schedule.warm_up_minutes
        )
        start, end = cron_expressions(cron_window(with_lead_time(config.schedule, lead)))
        triggers.append(
            {
                "type": "cron",
                "metadata": {
                    "timezone": config.schedule.timezone,
                    "start": start,
                    "end": end,
                    "desiredReplicas": str(profile.min_replicas),
                },
            }
        )
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": workload_name(profile), "namespace": namespace, "labels": labels(profile)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload_name(profile)},
            "pollingInterval": scaling.polling_interval_seconds,
            "cooldownPeriod": scaling.cooldown_seconds,
            "minReplicaCount": replica_floor(config, profile),
            "maxReplicaCount": profile.max_replicas,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        "scaleUp": {
                            "stabilizationWindowSeconds": scaling.scale_up_stabilization_seconds,
                            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
                        },
                        # A replica takes minutes to load: give it back slowly, one at a time.
                        "scaleDown": {
                            "stabilizationWindowSeconds": scaling.scale_down_stabilization_seconds,
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
                        },
                    }
                }
            },
            "triggers": triggers,
        },
    }
