"""The HorizontalPodAutoscaler that KEDA creates for a ScaledObject: replica calculation, tolerance, behavior.

Follows the Kubernetes documentation "Horizontal Pod Autoscaling" (kubernetes/website
`content/en/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale.md`: algorithm details, scaling
policies, stabilization window, tolerance, default behavior) and the controller it describes
(kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator.go` `GetExternalPerPodMetricReplicas`,
`GetExternalMetricReplicas`; `horizontal.go` `stabilizeRecommendationWithBehaviors`,
`convertDesiredReplicasWithBehaviorRate`, `calculateScaleUpLimitWithScalingRules`,
`calculateScaleDownLimitWithBehaviors`, as of release 1.35):

- each metric proposes `ceil(currentReplicas × currentValue / targetValue)` (for an `AverageValue` external
  metric: `ceil(total / target)`), unless the ratio is within the tolerance (0.1) of 1; the largest proposal
  wins (several metrics);
- the stabilization windows keep the lowest recommendation of the scale-up window and the highest of the
  scale-down window, and the current size in between;
- the rate policies bound the change against the replicas at the start of each policy's period (scale events
  within `periodSeconds`); `selectPolicy: Max` (the default) takes the policy allowing the most change.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SYNC_PERIOD_SECONDS = 15  # kube-controller-manager --horizontal-pod-autoscaler-sync-period default
TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance default
DOWNSCALE_STABILIZATION_SECONDS = 300  # --horizontal-pod-autoscaler-downscale-stabilization default


@dataclass(frozen=True)
class ScalingPolicy:
    """One rate policy: at most `value` pods (or percent) of change per `period_seconds`."""

    type: str  # "Pods" or "Percent"
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """`behavior.scaleUp` or `behavior.scaleDown` with the API server's defaults filled in."""

    stabilization_seconds: int
    select_policy: str  # "Max", "Min" or "Disabled"
    policies: tuple[ScalingPolicy, ...]


# The defaults the documentation lists under "Default behavior" (and that the API server fills in).
DEFAULT_SCALE_UP = ScalingRules(0, "Max", (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15)))
DEFAULT_SCALE_DOWN = ScalingRules(DOWNSCALE_STABILIZATION_SECONDS, "Max", (ScalingPolicy("Percent", 100, 15),))


def rules_from_spec(spec: Mapping[str, Any] | None, default: ScalingRules) -> ScalingRules:
    """A direction's rules from a `behavior` entry: fields it leaves out keep their defaults."""
    if not spec:
        return default
    policies = tuple(
        ScalingPolicy(str(p.get("type")), int(p.get("value", 0)), int(p.get("periodSeconds", 15)))
        for p in spec.get("policies") or ()
    )
    window = spec.get("stabilizationWindowSeconds")
    return ScalingRules(
        stabilization_seconds=default.stabilization_seconds if window is None else int(window),
        select_policy=str(spec.get("selectPolicy") or "Max"),
        policies=policies or default.policies,
    )


def average_value_replicas(status_replicas: int, total: float, target: float, tolerance: float = TOLERANCE) -> int:
    """Replicas an `AverageValue` external metric asks for (`GetExternalPerPodMetricReplicas`).

    The ratio is the total over `target × replicas`; within the tolerance of 1 the size stays, otherwise it
    becomes `ceil(total / target)`.
    """
    if target <= 0:
        return status_replicas
    if status_replicas > 0 and abs(1.0 - total / (target * status_replicas)) <= tolerance:
        return status_replicas
    return math.ceil(total / target - 1e-9)


def value_replicas(current: int, ready: int, value: float, target: float, tolerance: float = TOLERANCE) -> int:
    """Replicas a `Value` external metric asks for (`GetExternalMetricReplicas`): the ratio times the ready pods."""
    if target <= 0:
        return current
    ratio = value / target
    if current == 0:
        return math.ceil(ratio - 1e-9)
    if abs(1.0 - ratio) <= tolerance:
        return current
    return math.ceil(ratio * ready - 1e-9)


def _changes_within(events: list[tuple[float, int]], period: int, now: float) -> int:
    cutoff = now - period
    return sum(change for when, change in events if when > cutoff)


def scale_up_limit(
    current: int, up: list[tuple[float, int]], down: list[tuple[float, int]], rules: ScalingRules, now: float
) -> int:
    """The most replicas the scale-up policies allow now (`calculateScaleUpLimitWithScalingRules`)."""
    if rules.select_policy == "Disabled":
        return current
    pick = min if rules.select_policy == "Min" else max
    result: int | None = None
    for policy in rules.policies:
        start = (
            current
            - _changes_within(up, policy.period_seconds, now)
            + _changes_within(down, policy.period_seconds, now)
        )
        if policy.type == "Pods":
            proposed = start + policy.value
        else:
            proposed = math.ceil(start * (1 + policy.value / 100) - 1e-9)
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_down_limit(
    current: int, up: list[tuple[float, int]], down: list[tuple[float, int]], rules: ScalingRules, now: float
) -> int:
    """The fewest replicas the scale-down policies allow now (`calculateScaleDownLimitWithBehaviors`).

    A `Percent` policy truncates: 10 % off 72 replicas leaves int(64.8) = 64.
    """
    if rules.select_policy == "Disabled":
        return current
    pick = max if rules.select_policy == "Min" else min
    result: int | None = None
    for policy in rules.policies:
        start = (
            current
            - _changes_within(up, policy.period_seconds, now)
            + _changes_within(down, policy.period_seconds, now)
        )
        proposed = start - policy.value if policy.type == "Pods" else int(start * (1 - policy.value / 100) + 1e-09)
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


@dataclass
class Hpa:
    """One HPA's memory between syncs: its recent recommendations and scale events.

    Recommendations are kept as two monotonic queues (a sliding minimum over the scale-up window and a sliding
    maximum over the scale-down window), which give the same bounds as scanning the recorded list.
    """

    min_replicas: int
    max_replicas: int
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN
    lowest: deque[tuple[float, int]] = field(default_factory=deque)
    highest: deque[tuple[float, int]] = field(default_factory=deque)
    up_events: list[tuple[float, int]] = field(default_factory=list)
    down_events: list[tuple[float, int]] = field(default_factory=list)

    def stabilize(self, now: float, current: int, desired: int) -> int:
        """`stabilizeRecommendationWithBehaviors`: the lowest recent recommendation bounds a scale-up, the highest a
        scale-down; the recommendation is recorded for later syncs."""
        lowest, highest = self.lowest, self.highest
        up_cutoff = now - self.scale_up.stabilization_seconds
        down_cutoff = now - self.scale_down.stabilization_seconds
        while lowest and lowest[0][0] <= up_cutoff:
            lowest.popleft()
        while highest and highest[0][0] <= down_cutoff:
            highest.popleft()
        up_recommendation = min(desired, lowest[0][1]) if lowest else desired
        down_recommendation = max(desired, highest[0][1]) if highest else desired
        while lowest and lowest[-1][1] >= desired:
            lowest.pop()
        lowest.append((now, desired))
        while highest and highest[-1][1] <= desired:
            highest.pop()
        highest.append((now, desired))
        return min(max(current, up_recommendation), down_recommendation)

    def limit_rate(self, now: float, current: int, desired: int) -> int:
        """`convertDesiredReplicasWithBehaviorRate`: the policies' rate limits, then minReplicas/maxReplicas."""
        if desired > current:
            limit = max(scale_up_limit(current, self.up_events, self.down_events, self.scale_up, now), current)
            return min(desired, self.max_replicas, limit)
        if desired < current:
            limit = min(scale_down_limit(current, self.up_events, self.down_events, self.scale_down, now), current)
            return max(desired, self.min_replicas, limit)
        return desired

    def normalize(self, now: float, current: int, desired: int) -> int:
        """`normalizeDesiredReplicasWithBehaviors`: stabilize, then limit the rate, within min and max."""
        stabilized = self.stabilize(now, current, desired)
        return max(self.min_replicas, min(self.max_replicas, self.limit_rate(now, current, stabilized)))

    def record(self, now: float, before: int, after: int) -> None:
        """Remember a change of size for the rate policies (events older than the longest period are dropped)."""
        if after > before:
            longest = max((p.period_seconds for p in self.scale_up.policies), default=0)
            self.up_events = [(w, c) for w, c in self.up_events if w > now - longest]
            self.up_events.append((now, after - before))
        elif after < before:
            longest = max((p.period_seconds for p in self.scale_down.policies), default=0)
            self.down_events = [(w, c) for w, c in self.down_events if w > now - longest]
            self.down_events.append((now, before - after))

    def sync(self, now: float, current: int, proposals: list[int]) -> int:
        """One reconcile (`reconcileAutoscaler`): at 0 replicas scaling is disabled (KEDA owns 0 ↔ 1); outside
        min/max the size is brought back; otherwise the largest metric proposal, normalized. Returns the new size.
        """
        if current == 0:
            return 0
        if current > self.max_replicas or current < self.min_replicas:
            new = min(max(current, self.min_replicas), self.max_replicas)
        else:
            desired = max(proposals) if proposals else current
            new = self.normalize(now, current, desired)
        if new != current:
            self.record(now, current, new)
        return new
