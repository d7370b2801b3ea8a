"""Tests for the capacity planner (llmscale.sizing.planner) and its calibration data (llmscale.sizing.calibration).

Properties first (more load never needs fewer GPUs, a tighter SLO never fewer, a faster GPU never more), then
the problem statement's reference points, the calibration table against its sources, calibration files,
headroom, tiers, cost, stack sizing and the errors users see.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmscale.config.models import (
    GpuConfig,
    LoadConfig,
    ModelProfile,
    Quantization,
    ScheduleConfig,
    SloConfig,
    StackConfig,
)
from llmscale.sizing.calibration import (
    BANDWIDTH_EFFICIENCY,
    GPU_SPECS,
    REFERENCE_POINTS,
    CalibrationError,
    _scaled_profile,
    bytes_per_param,
    decode_profile,
    decode_step_without_prefill,
    gpu_correction,
    load_calibration,
    parse_quantization,
    prefill_tokens_per_second,
    resolve_gpu,
    single_stream_seconds,
)
from llmscale.sizing.fleet import HOURS_PER_MONTH, headroom_gpus, monthly_cost, recommend_tier, schedule_hours
from llmscale.sizing.inputs import (
    DEFAULT_GPU,
    DEFAULT_MODEL,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_P99_SECONDS,
    DEFAULT_PRICE_PER_GPU_HOUR,
    DEFAULT_PROMPT_TOKENS,
    DEFAULT_THINK_TIME_SECONDS,
    DEFAULT_USERS,
    SizingError,
    SizingInputs,
    kv_bytes_per_token,
)
from llmscale.sizing.planner import size, size_for_stack, sizing_profile
from llmscale.sizing.sweeps import curve

MODELS = ["0.5b", "1b", "3b", "7b", "8b", "13b", "32b", "70b"]
GPUS = ["T4", "A10G", "L4", "L40S", "A100-40GB", "A100-80GB", "H100"]
# (slower, faster): the faster GPU has at least the bandwidth, memory and FLOPs of the slower one.
FASTER = [
    ("T4", "A10G"),
    ("A10G", "A100-40GB"),
    ("A100-40GB", "A100-80GB"),
    ("A100-80GB", "H100"),
    ("L4", "L40S"),
    ("L40S", "H100"),
    ("A10G", "L40S"),
    ("L4", "A100-40GB"),
]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

inputs_strategy = st.builds(
    SizingInputs,
    users=st.integers(1, 3000),
    prompt_tokens=st.integers(1, 8000),
    output_tokens=st.integers(1, 2000),
    model=st.sampled_from(MODELS),
    quantization=st.sampled_from([None, Quantization.FP8, Quantization.AWQ]),
    gpu=st.sampled_from(GPUS),
    p99_seconds=st.floats(0.5, 120),
    think_time_seconds=st.floats(0, 60),
    ttft_seconds=st.none(),
)


def gpus(inputs: SizingInputs) -> int | None:
    """GPUs needed, or None when the planner says the SLO is unreachable."""
    try:
        return size(inputs, with_range=False).gpus_needed
    except SizingError:
        return None


def assert_never_fewer(lighter: SizingInputs, heavier: SizingInputs) -> None:
    """`heavier` needs at least the GPUs of `lighter`; if `lighter` cannot be met, neither can `heavier`."""
    light, heavy = gpus(lighter), gpus(heavier)
    if light is None:
        assert heavy is None, f"{heavier} sized at {heavy} GPUs but the lighter {lighter} is unreachable"
    elif heavy is not None:
        assert heavy >= light, f"{heavier} needs {heavy} GPUs, fewer than {light} for {lighter}"


# --- properties --------------------------------------------------------------------------------------------


@PROPERTY
@given(inputs_strategy, st.integers(1, 3000))
def test_more_users_never_need_fewer_gpus(inputs: SizingInputs, extra: int) -> None:
    assert inputs.users is not None
    assert_never_fewer(inputs, replace(inputs, users=inputs.users + extra))


@PROPERTY
@given(inputs_strategy, st.floats(0.01, 60))
def test_a_tighter_slo_never_needs_fewer_gpus(inputs: SizingInputs, slack: float) -> None:
    assert_never_fewer(replace(inputs, p99_seconds=inputs.p99_seconds + slack), inputs)


@PROPERTY
@given(inputs_strategy, st.floats(0.05, 1.0), st.floats(0.05, 1.0))
def test_a_tighter_ttft_slo_never_needs_fewer_gpus(inputs: SizingInputs, loose: float, tight: float) -> None:
    loose, tight = max(loose, tight), min(loose, tight)
    assert_never_fewer(
        replace(inputs, ttft_seconds=inputs.p99_seconds * loose),
        replace(inputs, ttft_seconds=inputs.p99_seconds * tight),
    )


@PROPERTY
@given(inputs_strategy, st.sampled_from(FASTER))
def test_a_faster_gpu_never_needs_more_gpus(inputs: SizingInputs, pair: tuple[str, str]) -> None:
    slower, faster = pair
    assert_never_fewer(replace(inputs, gpu=faster), replace(inputs, gpu=slower))


@PROPERTY
@given(inputs_strategy, st.integers(1, 2000))
def test_more_output_tokens_never_need_fewer_gpus(inputs: SizingInputs, extra: int) -> None:
    assert_never_fewer(inputs, replace(inputs, output_tokens=inputs.output_tokens + extra))


@PROPERTY
@given(inputs_strategy, st.integers(1, 8000))
def test_longer_prompts_never_need_fewer_gpus(inputs: SizingInputs, extra: int) -> None:
    assert_never_fewer(inputs, replace(inputs, prompt_tokens=inputs.prompt_tokens + extra))


@PROPERTY
@given(inputs_strategy, st.floats(0.1, 60))
def test_more_think_time_never_needs_more_gpus(inputs: SizingInputs, extra: float) -> None:
    assert_never_fewer(replace(inputs, think_time_seconds=inputs.think_time_seconds + extra), inputs)


@PROPERTY
@given(inputs_strategy, st.floats(0.01, 50), st.floats(0.01, 50))
def test_more_requests_per_second_never_need_fewer_gpus(inputs: SizingInputs, rps: float, extra: float) -> None:
    lighter = replace(inputs, users=None, requests_per_second=rps)
    assert_never_fewer(lighter, replace(lighter, requests_per_second=rps + extra))


@PROPERTY
@given(inputs_strategy)
def test_every_answer_meets_its_slo_and_is_consistent(inputs: SizingInputs) -> None:
    try:
        result = size(inputs)
    except SizingError as error:
        assert "unreachable" in str(error) or "GiB" in str(error)
        return
    assert result.estimated_p99_seconds <= inputs.p99_seconds
    assert result.gpus_needed == result.replicas * result.gpus_per_replica
    assert result.gpus_per_replica in (1, 2, 4, 8)
    assert result.gpus_to_provision >= result.gpus_needed + 2
    assert result.gpus_to_provision % result.gpus_per_replica == 0
    assert 0 <= result.gpu_utilization <= 1
    assert result.cost.with_schedule <= result.cost.always_on
    assert result.concurrent_requests <= inputs.users + 1e-6  # type: ignore[operator]


# --- the problem statement's reference points -----------------------------------------------------------


def test_documented_defaults() -> None:
    """The defaults the README documents: the reference points below depend on every one of them."""
    defaults = SizingInputs()
    assert (DEFAULT_USERS, DEFAULT_MODEL, DEFAULT_GPU) == (100, "7b", "A10G")
    load = LoadConfig()
    assert (load.prompt_tokens, load.output_tokens, load.think_time_seconds) == (
        DEFAULT_PROMPT_TOKENS,
        DEFAULT_OUTPUT_TOKENS,
        DEFAULT_THINK_TIME_SECONDS,
    )
    assert DEFAULT_P99_SECONDS == 20.0
    assert GpuConfig().price_per_gpu_hour == DEFAULT_PRICE_PER_GPU_HOUR
    assert defaults.quantization is None and defaults.ttft_seconds is None and defaults.requests_per_second is None


@pytest.mark.parametrize(("users", "low", "high"), [(100, 5, 8), (500, 20, 30)])
def test_reference_points_land_in_range(users: int, low: int, high: int) -> None:
    """100 concurrent users on a 7B model need ~5–8 GPUs, 500 need 20–30 (with the documented defaults)."""
    result = size(SizingInputs(users=users))
    assert low <= result.gpus_needed <= high
    assert result.gpus_per_replica == 1
    assert result.source.basis == "measured" and not result.source.bandwidth_estimate


def test_if_you_need_8_gpus_provision_10() -> None:
    assert headroom_gpus(8) == 10


def test_reference_point_for_an_8b_model_id_is_close() -> None:
    """An 8B model id sizes like the 7B reference, a little heavier."""
    seven = size(SizingInputs(users=100))
    eight = size(SizingInputs(users=100, model="meta-llama/Llama-3.1-8B-Instruct"))
    assert seven.gpus_needed <= eight.gpus_needed <= seven.gpus_needed + 2


# --- the calibration table ------------------------------------------------------------------------------


def test_every_reference_point_cites_a_source_and_a_known_gpu() -> None:
    for point in REFERENCE_POINTS:
        assert point.source and point.engine and point.workload
        assert point.output_tokens_per_second > 0 and point.concurrency >= 1
        if point.used:
            assert point.gpu in GPU_SPECS


def test_the_bandwidth_model_reproduces_its_single_stream_measurement() -> None:
    """0.77 × bandwidth / bytes of weights: 75 tok/s for Llama-3.1-8B BF16 on an A100-40GB (FACTS)."""
    point = next(p for p in REFERENCE_POINTS if p.concurrency == 1 and p.gpu == "A100-40GB")
    estimate = 1 / single_stream_seconds(GPU_SPECS["A100-40GB"], point.weight_gb, 1)
    assert estimate == pytest.approx(point.output_tokens_per_second, rel=0.02)
    assert BANDWIDTH_EFFICIENCY == 0.77


def _has_sweep(point: Any) -> bool:
    return any(
        p.used and not p.anchor and p.gpu == point.gpu and abs(p.params_billions / point.params_billions - 1) <= 0.05
        and p.quantization == point.quantization and p.tensor_parallel == point.tensor_parallel
        for p in REFERENCE_POINTS
    )  # fmt: skip


@pytest.mark.parametrize("point", [p for p in REFERENCE_POINTS if p.used and p.anchor], ids=lambda p: p.describe())
def test_anchor_points_are_reproduced_exactly_unless_a_newer_sweep_measured_them(point: Any) -> None:
    profile = decode_profile(GPU_SPECS[point.gpu], point.params_billions, point.quantization, point.tensor_parallel)
    assert profile.basis == "measured"
    if _has_sweep(point):
        assert point not in profile.points and all(not p.anchor for p in profile.points)
    else:
        assert profile.points == (point,)
        assert profile.saturated_tokens_per_second() == pytest.approx(point.output_tokens_per_second, rel=1e-6)


def test_the_decode_line_fits_the_nim_concurrency_curve() -> None:
    """Llama-3.3-70B FP8 TP2 on H100 (NIM, 5000 in / 500 out): the model, scaled from vLLM's saturated
    anchor point only (not from the sweep itself), predicts the whole concurrency curve within 15 %."""
    nim = sorted((p for p in REFERENCE_POINTS if p.engine.startswith("NIM")), key=lambda p: p.concurrency)
    assert [p.concurrency for p in nim] == [1, 5, 25, 50, 100]
    gpu = GPU_SPECS["H100"]
    weight = 70.6 * bytes_per_param(Quantization.FP8)
    t1 = single_stream_seconds(gpu, weight, 2)
    profile = _scaled_profile(gpu, weight, 2, t1, "")
    assert profile.points[0].anchor
    prefill = 5000 / prefill_tokens_per_second(gpu, 70.6, Quantization.FP8, 2)
    for point in nim:
        in_flight, latency = point.concurrency, 10.0
        for _ in range(200):  # closed loop without think time: latency = ttft + output × step
            rho = min(in_flight / latency * prefill, 0.99)
            step = profile.step(in_flight) / (1 - 0.5 * rho)
            latency = 0.5 * latency + 0.5 * (prefill / (1 - rho) + 500 * step)
        predicted = in_flight * 500 / latency
        assert predicted == pytest.approx(point.output_tokens_per_second, rel=0.15), point.describe()


DOMINATED = [
    (slower, faster)
    for faster in GPU_SPECS.values()
    for slower in GPU_SPECS.values()
    if faster.name != slower.name
    and faster.bandwidth_gb_s >= slower.bandwidth_gb_s
    and faster.memory_gib >= slower.memory_gib
    and faster.dense_tflops >= slower.dense_tflops
]


@pytest.mark.parametrize(("slower", "faster"), DOMINATED, ids=lambda gpu: gpu.name)
def test_a_gpu_at_least_as_good_on_every_spec_is_never_rated_slower(slower: Any, faster: Any) -> None:
    """Decode line, prefill speed and KV room of every model size, quantization and tensor-parallel size: the
    GPU with at least the bandwidth, memory and FLOPs is never worse, whichever evidence each rests on."""
    assert ("H100", "H200") in {(s.name, f.name) for s, f in DOMINATED}
    for params in (0.5, 1, 3, 7, 8, 13, 32, 70, 405):
        for quant in (None, Quantization.FP8, Quantization.AWQ):
            for tp in (1, 2, 4, 8):
                fast = decode_profile(faster, params, quant, tp)
                slow = decode_profile(slower, params, quant, tp)
                where = f"{params}B {quant} TP{tp}"
                assert fast.t1 <= slow.t1 * (1 + 1e-12) and fast.c <= slow.c * (1 + 1e-12), where
                assert prefill_tokens_per_second(faster, params, quant, tp) >= prefill_tokens_per_second(
                    slower, params, quant, tp
                ), where


def test_the_h200_is_never_rated_slower_than_the_h100_anchor_points() -> None:
    """The H100 has anchor points of its own, the H200 only bandwidth scaling from the A100-80GB, which at
    70B BF16 TP2 puts its per-request cost above the H100's: the H200 takes the H100's line there."""
    h100 = decode_profile(GPU_SPECS["H100"], 70, None, 2)
    h200 = decode_profile(GPU_SPECS["H200"], 70, None, 2)
    assert h100.basis == "scaled" and h200.basis == "bandwidth-estimate"
    assert h200.c == h100.c and h200.t1 < h100.t1
    assert any(note.startswith("no slower than the H100 (scaled") for note in h200.notes)
    assert any(p.anchor and p.gpu == "H100" for p in h200.points)


def test_a10g_has_its_own_correction_and_bandwidth_only_gpus_have_none() -> None:
    correction, own = gpu_correction(GPU_SPECS["A10G"])
    assert own and 0.8 < correction < 1.25
    for name in ("L4", "L40S", "T4", "A100-40GB"):
        assert gpu_correction(GPU_SPECS[name]) == (1.0, ())


@pytest.mark.parametrize("gpu", ["L4", "L40S", "g6e.xlarge", "g6.2xlarge", "T4", "A100-40GB"])
def test_gpus_without_measurements_are_flagged_as_bandwidth_estimates(gpu: str) -> None:
    result = size(SizingInputs(users=20, gpu=gpu, p99_seconds=30))
    assert result.source.bandwidth_estimate
    assert result.source.basis == "bandwidth-estimate"
    assert result.to_json()["source"]["bandwidthEstimate"] is True
    assert any("no vLLM throughput measured" in note for note in result.source.notes)


@pytest.mark.parametrize("gpu", ["A10G", "A100-80GB", "H100", "p5.48xlarge"])
def test_measured_gpus_are_not_flagged(gpu: str) -> None:
    result = size(SizingInputs(users=20, gpu=gpu))
    assert not result.source.bandwidth_estimate
    assert result.source.basis in ("measured", "scaled")


# --- calibration files ----------------------------------------------------------------------------------


def bench_result(**overrides: Any) -> dict[str, Any]:
    """A `vllm bench serve --save-result` document with the planner's metadata (gpu, tensor_parallel_size)."""
    document: dict[str, Any] = {
        "date": "20250101-120000",
        "backend": "vllm",
        "model_id": "meta-llama/Llama-3.1-8B-Instruct",
        "num_prompts": 320,
        "request_rate": "inf",
        "burstiness": 1.0,
        "max_concurrency": 32,
        "duration": 60.0,
        "completed": 320,
        "total_input_tokens": 320_000,
        "total_output_tokens": 80_000,
        "request_throughput": 5.3,
        "output_throughput": 1300.0,
        "total_token_throughput": 6600.0,
        "mean_tpot_ms": 22.0,
        "p99_e2el_ms": 7100.0,
        "gpu": "L40S",
        "tensor_parallel_size": "1",
    }
    document.update(overrides)
    return document


L40S_8B = SizingInputs(users=200, model="meta-llama/Llama-3.1-8B-Instruct", gpu="L40S")


def test_a_calibration_file_overrides_the_bandwidth_estimate(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench_result()), encoding="utf-8")
    points = load_calibration(path)
    calibrated = size(L40S_8B, points)
    assert calibrated.source.basis == "calibration-file"
    assert not calibrated.source.bandwidth_estimate
    assert "your calibration file" in calibrated.source.calibration
    assert calibrated.gpus_per_replica == 1


def test_calibration_moves_the_answer_with_the_measurement(tmp_path: Path) -> None:
    """A faster measured TPOT needs fewer GPUs than a slower one for the same load."""
    fast, slow = tmp_path / "fast.json", tmp_path / "slow.json"
    fast.write_text(json.dumps(bench_result(mean_tpot_ms=15.0)), encoding="utf-8")
    slow.write_text(json.dumps(bench_result(mean_tpot_ms=60.0)), encoding="utf-8")
    assert size(L40S_8B, load_calibration(fast)).gpus_needed < size(L40S_8B, load_calibration(slow)).gpus_needed


def test_a_yaml_list_of_points_is_fitted_together(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "sweep.yaml"
    points = [bench_result(max_concurrency=c, mean_tpot_ms=t) for c, t in ((1, 16.0), (16, 20.0), (64, 34.0))]
    path.write_text(yaml.safe_dump({"points": points}), encoding="utf-8")
    loaded = load_calibration(path)
    assert [p.concurrency for p in loaded] == [1, 16, 64]
    profile = decode_profile(GPU_SPECS["L40S"], 8.0, None, 1, loaded)
    assert profile.basis == "calibration-file"
    assert profile.t1 == pytest.approx(0.016)
    # the fitted line is the decode speed without the run's own prefill slowdown
    assert 0.016 < profile.step(64) < 0.034 and decode_step_without_prefill(loaded[2], GPU_SPECS["L40S"]) < 0.034


def test_a_single_stream_calibration_keeps_the_built_in_slope(tmp_path: Path) -> None:
    path = tmp_path / "single.json"
    path.write_text(json.dumps(bench_result(max_concurrency=1, mean_tpot_ms=20.0)), encoding="utf-8")
    built_in = decode_profile(GPU_SPECS["L40S"], 8.0, None, 1)
    calibrated = decode_profile(GPU_SPECS["L40S"], 8.0, None, 1, load_calibration(path))
    assert calibrated.basis == "calibration-file"
    assert calibrated.t1 == pytest.approx(0.020) and calibrated.c == built_in.c


def test_calibration_for_another_model_or_gpu_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench_result(gpu="A10G")), encoding="utf-8")
    result = size(L40S_8B, load_calibration(path))
    assert result.source.bandwidth_estimate
    path.write_text(json.dumps(bench_result(model_id="Qwen/Qwen2.5-32B-Instruct")), encoding="utf-8")
    assert size(L40S_8B, load_calibration(path)).source.bandwidth_estimate


def test_calibration_restricts_tensor_parallel_sizes_to_what_was_measured(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench_result(tensor_parallel_size=2)), encoding="utf-8")
    result = size(L40S_8B, load_calibration(path))
    assert result.gpus_per_replica == 2 and result.source.basis == "calibration-file"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (bench_result(gpu=None), "--metadata gpu="),
        (bench_result(max_concurrency=None), "max_concurrency"),
        (bench_result(output_throughput=0), "output_throughput"),
        (bench_result(model_id="my-model", model=None), "params_billions"),
        (bench_result(gpu="TPU-v5e"), "unknown"),
        (bench_result(tensor_parallel_size=3), "tensor_parallel_size"),
        (bench_result(quantization="int3"), "quantization"),
        ([], "no benchmark results"),
        (["not a mapping"], "not a mapping"),
    ],
)
def test_bad_calibration_files_say_what_to_fix(tmp_path: Path, document: Any, message: str) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(CalibrationError, match=re.escape(message)):
        load_calibration(path)


def test_unreadable_calibration_files(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="cannot read"):
        load_calibration(tmp_path / "missing.json")
    broken = tmp_path / "broken.yaml"
    broken.write_text("points: [1, 2", encoding="utf-8")
    with pytest.raises(CalibrationError, match="not valid YAML"):
        load_calibration(broken)


# --- headroom, tiers, cost ------------------------------------------------------------------------------


@given(st.integers(1, 10_000))
def test_headroom_is_n_plus_2_or_a_quarter_more(needed: int) -> None:
    assert headroom_gpus(needed) == max(needed + 2, math.ceil(needed * 1.25))


@given(st.integers(1, 1000), st.sampled_from([1, 2, 4, 8]))
def test_headroom_rounds_up_to_whole_replicas(replicas: int, tp: int) -> None:
    provision = headroom_gpus(replicas * tp, tp)
    assert provision % tp == 0
    assert provision >= max(replicas * tp + 2, math.ceil(replicas * tp * 1.25))
    assert provision - tp < max(replicas * tp + 2, math.ceil(replicas * tp * 1.25))


@pytest.mark.parametrize(
    ("gpus_needed", "users", "tier"),
    [
        (1, 1, "single-gpu"),
        (1, 50, "single-gpu"),
        (1, 51, "multi-gpu"),
        (2, 10, "multi-gpu"),
        (8, 499, "multi-gpu"),
        (9, 10, "enterprise"),
        (1, 500, "enterprise"),
        (8, 500, "enterprise"),
        (1, None, "single-gpu"),
        (8, None, "multi-gpu"),
        (9, None, "enterprise"),
    ],
)
def test_tier_boundaries(gpus_needed: int, users: int | None, tier: str) -> None:
    assert recommend_tier(gpus_needed, users) == tier


def test_results_recommend_the_tier_of_their_size() -> None:
    assert size(SizingInputs(users=10, gpu="H100")).recommended_tier == "single-gpu"
    assert size(SizingInputs(users=100)).recommended_tier == "multi-gpu"
    assert size(SizingInputs(users=500, gpu="H100")).recommended_tier == "enterprise"


def test_default_night_schedule_is_11_hours_on_weekdays() -> None:
    hours = schedule_hours(ScheduleConfig())
    assert hours == pytest.approx(11 * 5 * 365 / 12 / 7)
    cost = monthly_cost(10, 1, 2.0, ScheduleConfig())
    assert cost.always_on == pytest.approx(10 * 2.0 * HOURS_PER_MONTH)
    assert cost.with_schedule == pytest.approx(10 * 2.0 * hours)
    assert cost.off_hours_gpus == 0
    assert "08:00-19:00" in cost.schedule and "mon-fri" in cost.schedule


def test_off_hours_floor_and_disabled_schedule() -> None:
    floor = ScheduleConfig(off_hours_min_replicas=1)
    cost = monthly_cost(8, 2, 1.0, floor)
    hours = schedule_hours(floor)
    assert cost.off_hours_gpus == 2
    assert cost.with_schedule == pytest.approx(8 * hours + 2 * (HOURS_PER_MONTH - hours))
    off = monthly_cost(8, 2, 1.0, ScheduleConfig(enabled=False))
    assert off.with_schedule == off.always_on


def test_a_window_across_midnight_counts_its_hours() -> None:
    night = ScheduleConfig(start="20:00", end="06:00", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    assert schedule_hours(night) == pytest.approx(10 * 7 * 365 / 12 / 7)


# --- model details --------------------------------------------------------------------------------------


def test_kv_cache_per_token_grows_with_size_and_matches_known_models() -> None:
    assert kv_bytes_per_token(8) == 128 * 1024
    assert kv_bytes_per_token(70) == 320 * 1024
    sizes = [0.1, 0.5, 1, 2, 3, 7, 8, 13, 14, 32, 70, 405, 1000]
    values = [kv_bytes_per_token(s) for s in sizes]
    assert values == sorted(values)


def test_tensor_parallel_when_the_weights_do_not_fit_one_gpu() -> None:
    result = size(SizingInputs(users=10, model="70b", gpu="A100-80GB"))
    assert result.gpus_per_replica >= 2
    fp8 = size(SizingInputs(users=10, model="70b", gpu="H100", quantization=Quantization.FP8))
    assert fp8.gpus_per_replica in (1, 2, 4)


@pytest.mark.parametrize(
    ("name", "gpu", "per_node"),
    [
        ("g5.xlarge", "A10G", 1),
        ("g6.12xlarge", "L4", 4),
        ("g6e.xlarge", "L40S", 1),
        ("p4d.24xlarge", "A100-40GB", 8),
        ("p4de.24xlarge", "A100-80GB", 8),
        ("p5.48xlarge", "H100", 8),
        ("h100", "H100", None),
        ("a100-80gb", "A100-80GB", None),
        ("onprem.l40s-x4", "L40S", None),
    ],
)
def test_gpus_resolve_from_models_instance_types_and_node_names(name: str, gpu: str, per_node: int | None) -> None:
    spec, gpus_per_node = resolve_gpu(name)
    assert spec.name == gpu and gpus_per_node == per_node


def test_a_replica_larger_than_the_instance_is_pointed_out() -> None:
    result = size(SizingInputs(users=10, model="70b", gpu="g5.xlarge", p99_seconds=60))
    assert result.gpus_per_replica > 1
    assert any("choose a larger instance type" in note for note in result.source.notes)


def test_to_json_uses_camel_case_keys_throughout() -> None:
    def keys(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [k for key, item in value.items() for k in [key, *keys(item)]]
        if isinstance(value, list):
            return [k for item in value for k in keys(item)]
        return []

    document = size(SizingInputs()).to_json()
    assert list(document)[:3] == ["gpusNeeded", "range", "gpusToProvision"]
    for key in ("replicas", "gpusPerReplica", "recommendedTier", "estimatedP99Seconds", "gpuUtilization"):
        assert key in document
    assert {"alwaysOn", "withSchedule"} <= set(document["monthlyCost"])
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", key) for key in keys(document))
    json.dumps(document)


def test_rps_and_users_size_the_same_load_alike() -> None:
    by_users = size(SizingInputs(users=100))
    by_rate = size(SizingInputs(users=None, requests_per_second=by_users.requests_per_second))
    assert abs(by_rate.gpus_needed - by_users.gpus_needed) <= 2
    assert by_rate.recommended_tier in ("multi-gpu", "single-gpu")


def test_curve_marks_unreachable_loads() -> None:
    points = curve(SizingInputs(model="70b", gpu="L4", p99_seconds=30), [1, 10])
    assert [load for load, _ in points] == [1, 10]
    reachable = curve(SizingInputs(), [10, 100])
    assert all(result is not None for _, result in reachable)
    assert reachable[0][1].gpus_needed <= reachable[1][1].gpus_needed  # type: ignore[union-attr]


# --- stacks ---------------------------------------------------------------------------------------------


def stack(**overrides: Any) -> StackConfig:
    values: dict[str, Any] = {
        "tier": "multi-gpu",
        "platform": "kubernetes",
        "models": [
            ModelProfile(name="chat", model="meta-llama/Llama-3.1-8B-Instruct", max_num_seqs=128),
            ModelProfile(
                name="analysis",
                model="Qwen/Qwen2.5-32B-Instruct-AWQ",
                lane="batch",
                quantization=Quantization.AWQ,
                gpus_per_replica=2,
            ),
        ],
        "gpu": GpuConfig(instance_type="onprem.l40s-x4", gpus_per_node=4, price_per_gpu_hour=2.5),
        "slo": SloConfig(p99_latency_seconds=10),
        "load": LoadConfig(peak_concurrent_users=150),
    }
    values.update(overrides)
    return StackConfig(**values)


def test_size_for_stack_uses_the_stack_load_slo_gpu_and_interactive_profile() -> None:
    config = stack()
    assert sizing_profile(config).name == "chat"
    result = size_for_stack(config)
    assert result.gpu == "L40S"
    assert result.inputs.users == 150 and result.inputs.p99_seconds == 10
    assert result.inputs.max_num_seqs == 128
    assert result.cost.price_per_gpu_hour == 2.5
    assert result.estimated_p99_seconds <= 10
    assert result.source.bandwidth_estimate


def test_size_for_stack_falls_back_to_the_largest_profile() -> None:
    batch_only = stack(
        models=[
            ModelProfile(name="small", model="Qwen/Qwen2.5-7B-Instruct", lane="batch"),
            ModelProfile(name="big", model="Qwen/Qwen2.5-32B-Instruct-AWQ", lane="batch", quantization="awq"),
        ],
        slo=SloConfig(p99_latency_seconds=60),
    )
    assert sizing_profile(batch_only).name == "big"
    assert size_for_stack(batch_only).params_billions == 32


def test_size_for_stack_with_the_default_2s_slo_is_unreachable() -> None:
    """SloConfig's default p99 of 2 s cannot be an end-to-end bound for 250-token answers on one L40S."""
    with pytest.raises(SizingError, match="unreachable"):
        size_for_stack(stack(slo=SloConfig(), gpu=GpuConfig()))


def test_size_for_stack_keeps_replicas_within_one_node() -> None:
    """A 70B model on 4-GPU nodes: tensor parallelism stops at 4 even when 8 would need fewer GPUs."""
    big = ModelProfile(name="chat", model="meta-llama/Llama-3.1-70B-Instruct")
    result = size_for_stack(stack(models=[big], slo=SloConfig(p99_latency_seconds=60)))
    assert result.gpus_per_replica == 4
    with pytest.raises(SizingError, match="quantize"):
        size_for_stack(stack(models=[big], gpu=GpuConfig(instance_type="g6e.xlarge")))


# --- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"users": 0}, "users must be"),
        ({"users": 5, "requests_per_second": 2.0}, "not both"),
        ({"users": None}, "not neither"),
        ({"users": None, "requests_per_second": 0.0}, "requests per second must be > 0"),
        ({"prompt_tokens": 0}, "prompt tokens must be >= 1"),
        ({"output_tokens": 0}, "output tokens must be >= 1"),
        ({"p99_seconds": 0.0}, "p99 latency must be > 0"),
        ({"ttft_seconds": 30.0}, "TTFT SLO must be"),
        ({"think_time_seconds": -1.0}, "think time must be >= 0"),
        ({"price_per_gpu_hour": -1.0}, "price per GPU-hour"),
        ({"model": "mistralai/Mistral-Nemo-Instruct"}, "cannot tell its size"),
        ({"min_gpus_per_replica": 3}, "1, 2, 4 or 8"),
    ],
)
def test_invalid_inputs_raise_clear_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SizingError, match=re.escape(message)):
        SizingInputs(**changes)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (SizingInputs(gpu="TPU-v5e"), "gpu TPU-v5e: unknown"),
        (SizingInputs(gpu="A100"), "ambiguous"),
        (SizingInputs(model="70b", gpu="L4", p99_seconds=5), "p99 SLO 5 s is unreachable"),
        (SizingInputs(model="405b", gpu="T4"), "quantize"),
        (SizingInputs(prompt_tokens=100_000, ttft_seconds=1), "TTFT SLO 1 s is unreachable"),
    ],
)
def test_impossible_requests_say_what_would_work(inputs: SizingInputs, message: str) -> None:
    with pytest.raises(SizingError, match=re.escape(message)):
        size(inputs)


def test_quantization_names() -> None:
    assert parse_quantization("none") is None and parse_quantization("BF16") is None
    assert parse_quantization("FP8") is Quantization.FP8
    with pytest.raises(CalibrationError, match="use one of none, awq"):
        parse_quantization("int3")


def test_errors_are_value_errors_on_one_line() -> None:
    for bad in (SizingInputs(users=5, gpu="TPU-v5e"), SizingInputs(model="70b", gpu="L4", p99_seconds=5)):
        with pytest.raises(ValueError) as caught:
            size(bad)
        assert "\n" not in str(caught.value)
