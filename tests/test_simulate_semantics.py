"""The controllers' semantics the simulator follows, each checked on its upstream's own documented examples.

- HPA: the examples of the Kubernetes documentation "Horizontal Pod Autoscaling" (kubernetes/website
  `content/en/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale.md`).
- KEDA v2.20.2: the cases of its unit tests (`pkg/scaling/executor/scale_scaledobjects_test.go`,
  `pkg/scalers/cron_scaler_test.go`) and the cron scaler's documented example (keda.sh docs, scalers/cron).
- cluster-autoscaler 1.35.2: flag defaults (`config/flags/flags.go`, `config/const.go`) and the eviction grace
  period (`core/scaledown/actuation/drain.go`).
- vLLM 0.33: admission (`check_admission`) and shutdown (`EngineCore._handle_shutdown`).
- Envoy Gateway v1.9.0: the local rate limit's token bucket, the effective request timeout.
- Route 53: detection after interval × failure threshold, the switch within one TTL.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest

from llmscale.simulate import cron, failover, gateway, hpa, keda, nodes, vllm
from llmscale.simulate.stack import (
    CA_MAX_GRACEFUL_TERMINATION,
    CA_SCALE_DOWN_DELAY_AFTER_ADD,
    CA_SCALE_DOWN_UNNEEDED,
    CA_SCAN_INTERVAL,
    Failover,
    HealthCheck,
    Route,
    effective_timeout,
    scaler_from_spec,
)

NOW = 10_000.0


# --- HPA: the documentation's own examples -------------------------------------------------------------


def test_hpa_doubles_at_twice_the_target_and_halves_at_half() -> None:
    """ "if the current metric value is 200m, and the desired value is 100m, the number of replicas will be
    doubled ... If the current value is instead 50m, you'll halve the number of replicas"."""
    replicas = 4
    assert hpa.average_value_replicas(replicas, total=0.200 * replicas, target=0.100) == 8
    assert hpa.average_value_replicas(replicas, total=0.050 * replicas, target=0.100) == 2


@pytest.mark.parametrize(("ratio", "changes"), [(1.09, False), (0.91, False), (1.11, True), (0.89, True)])
def test_hpa_skips_changes_within_the_ten_percent_tolerance(ratio: float, changes: bool) -> None:
    """ "The control plane skips any scaling action if the ratio is sufficiently close to 1.0 (within a
    configurable tolerance, 0.1 by default)"."""
    replicas = 10
    result = hpa.average_value_replicas(replicas, total=5 * replicas * ratio, target=5)
    assert (result != replicas) is changes


def test_hpa_takes_the_largest_proposal_of_several_metrics() -> None:
    """ "the HorizontalPodAutoscaler controller evaluates each metric ... takes the maximum scale recommended"."""
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=100)
    assert autoscaler.sync(NOW, 3, [2, 7, 5]) == 7


def test_hpa_scale_down_policies_example_from_80_to_10() -> None:
    """The documented example: Pods 4/60 s and Percent 10/60 s, 80 replicas going to 10: "during the first step
    8 replicas will be reduced. In the next iteration when the number of replicas is 72, 10% of the pods is 7.2
    but the number is rounded up to 8 ... When the number of replicas falls below 40 the first policy (Pods) is
    applied and 4 replicas will be reduced at a time"."""
    rules = hpa.ScalingRules(
        stabilization_seconds=0,
        select_policy="Max",
        policies=(hpa.ScalingPolicy("Pods", 4, 60), hpa.ScalingPolicy("Percent", 10, 60)),
    )
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=100, scale_down=rules)
    replicas, seen, now = 80, [80], NOW
    while replicas > 10:
        replicas = autoscaler.sync(now, replicas, [10])
        seen.append(replicas)
        now += 60
    assert seen[:3] == [80, 72, 64]
    assert all(a - b == 4 for a, b in itertools.pairwise(seen) if a <= 40 and b > 10)
    assert seen[-1] == 10


def test_hpa_scale_down_policy_holds_within_its_period() -> None:
    """`periodSeconds` "indicates the length of time in the past for which the policy must hold true": a second
    sync within the minute may not remove more."""
    rules = hpa.ScalingRules(0, "Max", (hpa.ScalingPolicy("Pods", 4, 60),))
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=100, scale_down=rules)
    assert autoscaler.sync(NOW, 40, [10]) == 36
    assert autoscaler.sync(NOW + 15, 36, [10]) == 36
    assert autoscaler.sync(NOW + 61, 36, [10]) == 32


def test_hpa_select_policy_min_picks_the_smallest_change() -> None:
    """ "To ensure that no more than 5 Pods are removed per minute, you can add a second scale-down policy with a
    fixed size of 5, and set selectPolicy to minimum"."""
    rules = hpa.ScalingRules(0, "Min", (hpa.ScalingPolicy("Percent", 10, 60), hpa.ScalingPolicy("Pods", 5, 60)))
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=200, scale_down=rules)
    assert autoscaler.sync(NOW, 100, [1]) == 95  # 10 % would remove 10; Min keeps the 5
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=200, scale_down=rules)
    assert autoscaler.sync(NOW, 30, [1]) == 27  # 10 % of 30 removes 3, fewer than 5


def test_hpa_disabled_policy_never_scales_down() -> None:
    """ "The selectPolicy value of Disabled turns off scaling the given direction"."""
    autoscaler = hpa.Hpa(1, 100, scale_down=hpa.ScalingRules(0, "Disabled", (hpa.ScalingPolicy("Percent", 100, 15),)))
    assert autoscaler.sync(NOW, 10, [1]) == 10


def test_hpa_default_scale_up_adds_four_pods_or_doubles_every_15_seconds() -> None:
    """Default behavior: "4 pods or a 100% of the currently running replicas may at most be added every 15 seconds
    till the HPA reaches its steady state"."""
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=100)
    replicas, seen, now = 1, [], NOW
    for _ in range(5):
        replicas = autoscaler.sync(now, replicas, [40])
        seen.append(replicas)
        now += 15
    assert seen == [5, 10, 20, 40, 40]


def test_hpa_default_scale_down_stabilization_keeps_the_highest_recommendation_for_300_seconds() -> None:
    """ "all desired states from the past 5 minutes will be considered": the replicas stay until the window has
    no higher recommendation, then fall to the minimum allowed (100 % per 15 s)."""
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=100)
    assert autoscaler.sync(NOW, 10, [10]) == 10
    for seconds in range(15, 300, 15):
        assert autoscaler.sync(NOW + seconds, 10, [2]) == 10
    assert autoscaler.sync(NOW + 300, 10, [2]) == 2


def test_hpa_custom_downscale_window_of_one_minute() -> None:
    """ "To provide a custom downscale stabilization window of 1 minute": stabilizationWindowSeconds: 60."""
    rules = hpa.rules_from_spec({"stabilizationWindowSeconds": 60}, hpa.DEFAULT_SCALE_DOWN)
    assert rules.policies == hpa.DEFAULT_SCALE_DOWN.policies
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=100, scale_down=rules)
    assert autoscaler.sync(NOW, 6, [6]) == 6
    assert autoscaler.sync(NOW + 45, 6, [3]) == 6
    assert autoscaler.sync(NOW + 60, 6, [3]) == 3


def test_hpa_scale_up_stabilization_uses_the_lowest_recommendation() -> None:
    """The scale-up window keeps the lowest recent recommendation (`stabilizeRecommendationWithBehaviors`)."""
    rules = hpa.ScalingRules(60, "Max", hpa.DEFAULT_SCALE_UP.policies)
    autoscaler = hpa.Hpa(min_replicas=1, max_replicas=100, scale_up=rules)
    assert autoscaler.sync(NOW, 2, [2]) == 2
    assert autoscaler.sync(NOW + 15, 2, [8]) == 2
    assert autoscaler.sync(NOW + 61, 2, [8]) == 6  # the window now holds only 8s; +4 pods per 15 s


def test_hpa_brings_the_size_back_within_min_and_max_and_stays_off_at_zero() -> None:
    """Outside [min, max] the controller rescales to the bound; at 0 replicas with minReplicas > 0 scaling is off
    ("Implicit maintenance-mode deactivation")."""
    autoscaler = hpa.Hpa(min_replicas=2, max_replicas=5)
    assert autoscaler.sync(NOW, 9, [9]) == 5
    assert autoscaler.sync(NOW + 15, 1, [1]) == 2
    assert autoscaler.sync(NOW + 30, 0, [9]) == 0


def test_hpa_value_metric_scales_the_ready_pods_by_the_ratio() -> None:
    """`GetExternalMetricReplicas`: ceil(ratio × ready pods), unless within the tolerance."""
    assert hpa.value_replicas(current=4, ready=4, value=20, target=10) == 8
    assert hpa.value_replicas(current=4, ready=4, value=10.5, target=10) == 4


# --- KEDA: its unit tests and documentation -------------------------------------------------------------


def test_keda_scales_to_min_replicas_when_not_active() -> None:
    """`TestScaleToMinReplicasWhenNotActive`: minReplicaCount 0, 10 replicas, no trigger active, never active
    before (and no initial cooldown): scaled to 0."""
    executor = keda.Executor(min_replicas=0, cooldown_seconds=300, created_at=-math.inf)
    assert executor.request_scale(NOW, active=False, current=10) == 0


def test_keda_waits_for_the_cooldown_after_the_last_activity() -> None:
    """`scaleToZeroOrIdle`: only once `lastActiveTime + cooldownPeriod` is in the past."""
    executor = keda.Executor(min_replicas=0, cooldown_seconds=300)
    assert executor.request_scale(NOW, active=True, current=3) is None
    assert executor.request_scale(NOW + 300, active=False, current=3) is None
    assert executor.request_scale(NOW + 301, active=False, current=3) == 0


def test_keda_scales_up_to_min_replicas_from_a_lower_count() -> None:
    """`TestScaleToMinReplicasFromLowerInitialReplicaCount`: minReplicaCount 5, 1 replica, inactive: 5."""
    executor = keda.Executor(min_replicas=5, cooldown_seconds=300)
    assert executor.request_scale(NOW, active=False, current=1) == 5


def test_keda_scales_from_zero_to_one_when_active() -> None:
    """`TestScaleFromMinReplicasWhenActive`: minReplicaCount 0, 0 replicas, active: 1."""
    executor = keda.Executor(min_replicas=0, cooldown_seconds=300)
    assert executor.request_scale(NOW, active=True, current=0) == 1


def test_keda_idle_replicas_both_ways() -> None:
    """`TestScaleToIdleReplicasWhenNotActive` (idle 0, min 5, 10 replicas, inactive: 0) and
    `TestScaleFromIdleToMinReplicasWhenActive` (idle 0, min 5, 0 replicas, active: 5)."""
    executor = keda.Executor(min_replicas=5, cooldown_seconds=0, idle_replicas=0, created_at=-math.inf)
    assert executor.request_scale(NOW, active=False, current=10) == 0
    assert executor.request_scale(NOW + 1, active=True, current=0) == 5


def test_keda_leaves_active_targets_to_the_hpa() -> None:
    """Active and above zero: nothing for the executor to do; the HPA owns 1..max."""
    executor = keda.Executor(min_replicas=0, cooldown_seconds=300)
    assert executor.request_scale(NOW, active=True, current=4) is None


def test_prometheus_activation_is_strictly_above_the_threshold() -> None:
    """`GetMetricsAndActivity` returns `val > activationThreshold` (default 0)."""
    assert not keda.prometheus_active(0.0, 0.0)
    assert keda.prometheus_active(0.5, 0.0)
    assert not keda.prometheus_active(5.0, 5.0)


def test_hpa_min_replicas_is_at_least_one() -> None:
    """`GetHPAMinReplicas`: KEDA never gives the HPA a minimum of 0."""
    assert keda.hpa_min_replicas(0) == 1
    assert keda.hpa_min_replicas(3) == 3


def test_scaled_object_defaults() -> None:
    """An empty spec gets KEDA's defaults (polling 30 s, cooldown 300 s, min 0, max 100) and the HPA's default
    behavior."""
    scaler = scaler_from_spec("x", {"triggers": []})
    assert (scaler.polling_seconds, scaler.cooldown_seconds, scaler.min_replicas, scaler.max_replicas) == (
        30,
        300,
        0,
        100,
    )
    assert scaler.scale_up == hpa.DEFAULT_SCALE_UP
    assert scaler.scale_down == hpa.DEFAULT_SCALE_DOWN


MONDAY_UTC = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def _window(start: str, end: str, timezone: str = "Etc/UTC", days: int = 7) -> cron.CronWindow:
    return cron.keda_window(start, end, timezone, MONDAY_UTC, days * 1440)


def test_cron_documented_example_six_to_eight_in_kolkata() -> None:
    """keda.sh cron scaler: timezone Asia/Kolkata, start 0 6 * * *, end 0 20 * * * is active from 6 AM to 8 PM
    local time (UTC+5:30): 00:30 to 14:30 UTC, to the minute."""
    window = _window("0 6 * * *", "0 20 * * *", "Asia/Kolkata", days=2)
    active = [m for m in range(1440) if window.is_active(m)]
    assert active[0] == 30 and active[-1] == 14 * 60 + 29 and len(active) == 14 * 60


def test_cron_unit_test_thursday_all_day() -> None:
    """`validCronMetadata`: start 0 0 * * Thu, end 59 23 * * Thu, active on Thursday (until 23:59)."""
    window = _window("0 0 * * Thu", "59 23 * * Thu")
    thursday = 3 * 1440
    assert not window.is_active(thursday - 1)
    assert window.is_active(thursday) and window.is_active(thursday + 23 * 60 + 58)
    assert not window.is_active(thursday + 23 * 60 + 59)


def test_cron_unit_test_even_hours() -> None:
    """`validCronMetadata2`: start 0 */2 * * *, end 0 1-23/2 * * *: active in even hours."""
    window = _window("0 */2 * * *", "0 1-23/2 * * *", days=1)
    assert all(window.is_active(m) == ((m // 60) % 2 == 0) for m in range(1440))


def test_cron_unit_test_comma_lists() -> None:
    """`validCronMetadata3`: start 0,30 * * * *, end 15,45 * * * *: minutes 0-14 and 30-44 of every hour."""
    window = _window("0,30 * * * *", "15,45 * * * *", days=1)
    assert all(window.is_active(m) == ((m % 60) < 15 or 30 <= (m % 60) < 45) for m in range(1440))


def test_cron_window_crossing_midnight() -> None:
    """A window from 22:00 to 06:00 is active across midnight (the next-start vs next-end comparison)."""
    window = _window("0 22 * * *", "0 6 * * *", days=2)
    assert window.is_active(23 * 60) and window.is_active(1440 + 5 * 60 + 59)
    assert not window.is_active(1440 + 6 * 60) and not window.is_active(12 * 60)


def test_cron_day_fields_or_when_both_restricted() -> None:
    """robfig/cron `dayMatches`: with both day-of-month and day-of-week restricted, either matches."""
    spec = cron.parse_keda("0 9 1 * Mon")
    assert spec.matches(datetime(2024, 1, 8, 9, 0))  # a Monday, not the 1st
    assert spec.matches(datetime(2024, 2, 1, 9, 0))  # the 1st, a Thursday
    assert not spec.matches(datetime(2024, 1, 9, 9, 0))


def test_eventbridge_days_count_from_sunday_as_one() -> None:
    """EventBridge cron day-of-week: 1-7 from Sunday; names SUN-SAT; `?` in the other day field."""
    by_number = cron.parse_eventbridge("cron(0 7 ? * 2-6 *)")
    by_name = cron.parse_eventbridge("cron(0 7 ? * MON,TUE,WED,THU,FRI *)")
    assert by_number.weekdays == by_name.weekdays == frozenset({1, 2, 3, 4, 5})
    start = datetime(2024, 1, 1, tzinfo=UTC) - timedelta(minutes=1)
    fired = cron.fire_minutes(by_name, "Europe/Berlin", start, 7 * 1440)
    assert len(fired) == 5  # Monday to Friday at 07:00 Berlin time


def test_cron_errors_name_the_field() -> None:
    with pytest.raises(cron.CronError, match="minute"):
        cron.parse_keda("61 * * * *")
    with pytest.raises(cron.CronError, match="5 fields"):
        cron.parse_keda("* * *")
    with pytest.raises(cron.CronError, match="not simulated"):
        cron.parse_eventbridge("cron(0 7 L * ? *)")


# --- cluster autoscaler ---------------------------------------------------------------------------------


def test_cluster_autoscaler_flag_defaults() -> None:
    """flags.go / const.go at cluster-autoscaler-1.35.2: scan 10 s, unneeded 10 min, delay after add 10 min,
    max graceful termination 600 s."""
    assert (CA_SCAN_INTERVAL, CA_SCALE_DOWN_UNNEEDED, CA_SCALE_DOWN_DELAY_AFTER_ADD, CA_MAX_GRACEFUL_TERMINATION) == (
        10,
        600,
        600,
        600,
    )


def test_node_unneeded_below_the_gpu_utilization_threshold_only_when_its_pods_fit_elsewhere() -> None:
    node = nodes.Node(group=0, zone="a", gpus=4, ready_at=0, used=1)
    assert nodes.unneeded(node, evictable_gpus=1, free_elsewhere=1, threshold=0.5)
    assert not nodes.unneeded(node, evictable_gpus=1, free_elsewhere=0, threshold=0.5)
    node.used = 2
    assert not nodes.unneeded(node, evictable_gpus=2, free_elsewhere=8, threshold=0.5)
    node.used = 0
    assert nodes.unneeded(node, evictable_gpus=0, free_elsewhere=0, threshold=0.5)


def test_a_start_longer_than_the_startup_probe_is_restarted_with_the_weights_on_disk() -> None:
    seconds, restarted = nodes.start_seconds(16.0, "hub", image_cached=False, startup_budget=1800)
    assert not restarted and seconds == pytest.approx(
        nodes.IMAGE_PULL_SECONDS + nodes.load_seconds(16.0, "hub") + nodes.ENGINE_START_SECONDS
    )
    seconds, restarted = nodes.start_seconds(400.0, "hub", image_cached=True, startup_budget=1800)
    assert restarted and seconds == pytest.approx(1800 + nodes.load_seconds(400.0, "disk") + nodes.ENGINE_START_SECONDS)


# --- vLLM -----------------------------------------------------------------------------------------------


def test_vllm_admission_bounds_running_plus_waiting() -> None:
    """`check_admission`: current + 1 > max_num_queued_reqs rejects; per replica, the API server's count."""
    assert vllm.admitted(offered=10, in_flight=380, replicas=1, queue_limit=384) == 4
    assert vllm.admitted(offered=10, in_flight=0, replicas=2, queue_limit=3) == 6
    assert vllm.admitted(offered=10, in_flight=0, replicas=1, queue_limit=math.inf) == 10
    assert vllm.admitted(offered=10, in_flight=0, replicas=0, queue_limit=384) == 0


@pytest.mark.parametrize(
    ("pre_stop", "shutdown", "grace", "deadline"),
    [
        (10, 0, 340, 10),  # vLLM's default --shutdown-timeout 0 aborts at SIGTERM, right after the preStop hook
        (10, 300, 340, 310),  # drains for --shutdown-timeout after SIGTERM
        (10, 600, 30, 30),  # the kubelet's SIGKILL at the grace period wins
        (0, 600, 10, 10),  # docker compose: SIGKILL after the 10 s stop grace period
    ],
)
def test_kill_deadline(pre_stop: float, shutdown: float, grace: float, deadline: float) -> None:
    assert vllm.kill_deadline(pre_stop, shutdown, grace) == deadline


def test_cut_fraction_of_requests_in_flight() -> None:
    """A request's remaining time is uniform over its length: of 40 s requests, a 10 s deadline cuts 3/4."""
    assert vllm.cut_fraction(40, 10) == pytest.approx(0.75)
    assert vllm.cut_fraction(8, 10) == 0.0


def test_request_mix_has_the_declared_length_at_its_99th_percentile() -> None:
    classes = vllm.request_classes(1000, 250)
    assert sum(k.share for k in classes) == pytest.approx(1.0)
    below = sum(k.share for k in classes if k.output_tokens <= 250)
    assert below == pytest.approx(0.99)


# --- Envoy Gateway --------------------------------------------------------------------------------------


def _route(**overrides: object) -> Route:
    values: dict[str, object] = {
        "name": "chat",
        "backends": (("chat", 1.0),),
        "timeout_seconds": 300.0,
        "retries": 2,
        "retry_on_503": True,
        "retry_backoff_seconds": 0.55,
        "retry_budget_percent": 20.0,
        "max_parallel_requests": 1024.0,
        "rate_limit_requests": 600.0,
        "rate_limit_window_seconds": 60.0,
        "rate_limit_per_client": True,
    }
    values.update(overrides)
    return Route(**values)  # type: ignore[arg-type]


def test_local_rate_limit_is_a_token_bucket_refilled_each_unit_per_client_and_replica() -> None:
    """`MaxTokens` = `TokensPerFill` = requests, `FillInterval` = unit (local_ratelimit.go)."""
    limiter = gateway.rate_limiter(_route(), clients=2, envoy_replicas=2)
    assert limiter is not None
    assert limiter.admit(0.0, 3000) == 2400
    assert limiter.admit(30.0, 10) == 0
    assert limiter.admit(60.0, 10) == 10
    shared = gateway.rate_limiter(_route(rate_limit_per_client=False), clients=5, envoy_replicas=1)
    assert shared is not None and shared.admit(0.0, 1000) == 600


def test_retries_only_place_refused_requests_when_they_retry_on_503() -> None:
    assert gateway.retry_capacity(_route(retry_on_503=False), completions_per_second=10, in_flight=100) == 0
    assert gateway.retry_capacity(_route(), completions_per_second=10, in_flight=100) == pytest.approx(11.0)


def test_effective_request_timeout_route_wins_then_policy_then_envoy_default() -> None:
    """`getEffectiveRequestTimeout` (internal/xds/translator/route.go)."""
    policy = {"timeout": {"http": {"requestTimeout": "1800s"}}}
    assert effective_timeout({"timeouts": {"request": "300s"}}, policy, "x") == 300
    assert effective_timeout({}, policy, "x") == 1800
    assert effective_timeout({}, None, "x") == 15


# --- Route 53 ---------------------------------------------------------------------------------------------


def test_route53_detects_after_interval_times_threshold_and_clients_follow_within_a_ttl() -> None:
    check = HealthCheck(interval_seconds=10, failure_threshold=3)
    plan = Failover(primary=check, secondary=check, ttl_seconds=60)
    assert failover.detect_seconds(check) == 30
    assert failover.switched_share(plan, 29, standby_healthy=True) == 0
    assert failover.switched_share(plan, 60, standby_healthy=True) == pytest.approx(0.5)
    assert failover.switched_share(plan, 90, standby_healthy=True) == 1
    assert failover.switch_seconds(plan) == 90


def test_route53_answers_with_the_primary_when_the_secondary_is_unhealthy_too() -> None:
    check = HealthCheck(interval_seconds=30, failure_threshold=3)
    plan = Failover(primary=check, secondary=check, ttl_seconds=60)
    assert failover.switched_share(plan, 3600, standby_healthy=False) == 0
