"""KEDA v2.20 as it drives one ScaledObject: trigger activity, the metrics it hands the HPA, scale to and from zero.

Read from kedacore/keda v2.20.2:

- `apis/keda/v1alpha1/scaledobject_types.go`: `minReplicaCount` 0, `maxReplicaCount` 100 when unset; the HPA
  gets `minReplicas = max(minReplicaCount, 1)` (`GetHPAMinReplicas`), so KEDA alone goes between 0 and 1;
  `pkg/scaling/executor/scale_executor.go`: `cooldownPeriod` 300 s and `initialCooldownPeriod` 0 when unset;
  `pollingInterval` 30 s (the CRD's documented default).
- `pkg/scalers/prometheus_scaler.go` `GetMetricsAndActivity`: a prometheus trigger is active when its value is
  above `activationThreshold` (default 0); `metricType` defaults to `AverageValue` (`GetMetricTargetType` in
  `pkg/scalers/scaler.go`), so the HPA divides the value by the replicas.
- `pkg/scalers/cron_scaler.go`: inside the window the metric is `desiredReplicas` against an `AverageValue`
  target of 1, outside it is 0 and inactive.
- `pkg/scaling/executor/scale_scaledobjects.go` `RequestScale`: with any trigger active and 0 replicas the
  target goes to `max(minReplicaCount, 1)` (`scaleFromZeroOrIdle`) and `lastActiveTime` is now; with every
  trigger inactive, `minReplicaCount` 0 and replicas above 0, `scaleToZeroOrIdle` sets 0 (or
  `idleReplicaCount`) once `lastActiveTime + cooldownPeriod` has passed, without the HPA's `behavior`; below
  `minReplicaCount` the target is set to it. Between 1 and the maximum the HPA decides (the max-of-metrics
  rule is the HPA's).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_POLLING_SECONDS = 30
DEFAULT_COOLDOWN_SECONDS = 300
DEFAULT_INITIAL_COOLDOWN_SECONDS = 0
DEFAULT_MIN_REPLICAS = 0
DEFAULT_MAX_REPLICAS = 100


def prometheus_active(value: float, activation_threshold: float) -> bool:
    """A prometheus trigger's activity: strictly above its activation threshold."""
    return value > activation_threshold


def cron_metric(inside: bool, desired_replicas: int) -> float:
    """The cron trigger's metric: `desiredReplicas` inside the window, 0 outside (target: AverageValue 1)."""
    return float(desired_replicas) if inside else 0.0


def hpa_min_replicas(min_replica_count: int) -> int:
    """The `minReplicas` of the HPA KEDA creates: never 0 (KEDA itself handles 0)."""
    return max(min_replica_count, 1)


@dataclass
class Executor:
    """KEDA's scale executor for one ScaledObject, called every `pollingInterval` with the triggers' activity."""

    min_replicas: int
    cooldown_seconds: int
    initial_cooldown_seconds: int = DEFAULT_INITIAL_COOLDOWN_SECONDS
    idle_replicas: int | None = None
    created_at: float = 0.0
    last_active: float | None = None

    def request_scale(self, now: float, active: bool, current: int) -> int | None:
        """The replicas KEDA sets now, or None when it leaves the target to the HPA."""
        if active:
            self.last_active = now
            if (self.idle_replicas is not None and current < self.min_replicas) or current == 0:
                return max(self.min_replicas, 1)
            return None
        idle = self.idle_replicas
        if (idle is not None and current > idle) or (current > 0 and self.min_replicas == 0):
            if self.last_active is None:
                ready = self.created_at + self.initial_cooldown_seconds < now
            else:
                ready = self.last_active + self.cooldown_seconds < now
            if ready:
                return idle if idle is not None else self.min_replicas
            return None
        if idle is None and current < self.min_replicas:
            return self.min_replicas
        return None
