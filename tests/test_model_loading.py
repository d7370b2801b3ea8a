"""How weights reach the GPU (streamed, copied, downloaded) and the startup window that follows from it."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from llmscale.config.loader import load_stack
from llmscale.config.models import ModelProfile, StackConfig
from llmscale.host.bundle import SecretSource, render_bundle, start_period_seconds
from llmscale.k8s.schema import validate_object
from llmscale.k8s.weights import weights_plan
from llmscale.k8s.workload import deployment_manifest
from llmscale.serving.loading import (
    DISK_GIB_PER_SECOND,
    ENGINE_START_SECONDS,
    HUB_GIB_PER_SECOND,
    MARGIN,
    MIN_ROLLOUT_SECONDS,
    MIN_WINDOW_SECONDS,
    PROBE_PERIOD_SECONDS,
    S3_STREAM_GIB_PER_SECOND,
    UNKNOWN_WEIGHTS_GIB,
    LoadPath,
    load_path,
    local_copy,
    rollout_seconds,
    startup_window_seconds,
)
from llmscale.sizing.model_size import weights_gib
from tests.test_config import config, models, parse

sizes = st.floats(min_value=0.1, max_value=2000, allow_nan=False)
paths = st.sampled_from(list(LoadPath))


# --- the window ------------------------------------------------------------------------------------------


@given(sizes, sizes, paths)
def test_a_larger_model_never_gets_a_shorter_window(a: float, b: float, path: LoadPath) -> None:
    small, large = sorted((a, b))
    assert startup_window_seconds(small, path) <= startup_window_seconds(large, path)


@given(sizes)
def test_streaming_is_never_slower_than_disk_and_disk_never_slower_than_the_hub(size: float) -> None:
    stream, disk, hub = (startup_window_seconds(size, p) for p in (LoadPath.STREAM, LoadPath.DISK, LoadPath.HUB))
    assert stream <= disk <= hub


@given(st.one_of(st.none(), sizes), paths, st.floats(min_value=0, max_value=50))
def test_the_window_is_whole_probe_periods_and_at_least_five_minutes(
    size: float | None, path: LoadPath, hub: float
) -> None:
    window = startup_window_seconds(size, path, hub_gib=hub)
    assert window % PROBE_PERIOD_SECONDS == 0
    assert window >= MIN_WINDOW_SECONDS
    assert window >= startup_window_seconds(size, path)  # adapters from the Hub only add time


@given(paths)
def test_an_unknown_size_is_taken_as_a_70b_model(path: LoadPath) -> None:
    assert startup_window_seconds(None, path) == startup_window_seconds(UNKNOWN_WEIGHTS_GIB, path)


def test_the_window_of_an_8b_model_by_hand() -> None:
    weights = weights_gib(ModelProfile(name="chat", model="meta-llama/Llama-3.1-8B-Instruct"))
    assert weights == pytest.approx(14.9, abs=0.1)
    hub = weights / HUB_GIB_PER_SECOND + weights / DISK_GIB_PER_SECOND + ENGINE_START_SECONDS  # 305 + 122 + 120 s
    assert startup_window_seconds(weights, LoadPath.HUB) == 10 * -(-MARGIN * hub // 10)
    assert 800 < startup_window_seconds(weights, LoadPath.HUB) < 840
    # Streamed: 30 s of S3 and the engine's start fit in the five-minute floor.
    assert MARGIN * (weights / S3_STREAM_GIB_PER_SECOND + ENGINE_START_SECONDS) < MIN_WINDOW_SECONDS
    assert startup_window_seconds(weights, LoadPath.STREAM) == MIN_WINDOW_SECONDS


@given(st.integers(MIN_WINDOW_SECONDS, 20_000), st.floats(min_value=0, max_value=1000))
def test_a_rollout_outlasts_the_copies_and_the_probe(window: int, copy: float) -> None:
    rollout = rollout_seconds(window, copy)
    assert rollout >= MIN_ROLLOUT_SECONDS
    assert rollout >= window + copy / DISK_GIB_PER_SECOND
    assert rollout % 60 == 0


# --- which path ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "stream", "path"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", False, LoadPath.HUB),
        ("meta-llama/Llama-3.1-8B-Instruct", True, LoadPath.HUB),
        ("/models/llama", False, LoadPath.DISK),
        ("store://org/model/", False, LoadPath.DISK),
        ("store://org/model/", True, LoadPath.STREAM),
        ("s3://bucket/org/model/", False, LoadPath.DISK),
        ("s3://bucket/org/model/", True, LoadPath.STREAM),
    ],
)
def test_load_path(model: str, stream: bool, path: LoadPath) -> None:
    assert load_path(model, stream=stream) is path


def test_local_copies_of_object_store_models() -> None:
    assert local_copy("store://org/model/") == "/models/store/org/model"
    assert local_copy("s3://bucket/org/model/") == "/models/s3/bucket/org/model"


# --- Kubernetes --------------------------------------------------------------------------------------------


def _store_model(stream: bool) -> StackConfig:
    example = load_stack("multi-gpu").config
    cache = example.kubernetes.model_cache.model_copy(update={"stream_weights": stream})
    kubernetes = example.kubernetes.model_copy(update={"model_cache": cache})
    profile = example.models[0].model_copy(update={"model": "store://meta-llama/Llama-3.1-8B-Instruct/"})
    return example.model_copy(update={"models": [profile], "kubernetes": kubernetes})


@pytest.mark.parametrize("stream", [False, True], ids=["copied", "streamed"])
def test_the_startup_probe_and_rollout_follow_the_plan(stream: bool) -> None:
    stack = _store_model(stream)
    plan = weights_plan(stack, stack.models[0])
    deployment = deployment_manifest(stack, stack.models[0], aws_region="eu-west-1")
    vllm = deployment["spec"]["template"]["spec"]["containers"][0]
    probe = vllm["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] == plan.startup_window_seconds
    assert deployment["spec"]["progressDeadlineSeconds"] == plan.rollout_seconds
    assert deployment["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == str(plan.rollout_seconds)
    if stream:
        assert plan.path is LoadPath.STREAM and plan.copies == ()
        assert vllm["args"][vllm["args"].index("--load-format") + 1] == "runai_streamer"
        assert "initContainers" not in deployment["spec"]["template"]["spec"]
    else:
        assert plan.path is LoadPath.DISK
        assert vllm["args"][0] == "/models/store/meta-llama/Llama-3.1-8B-Instruct"
        assert "--load-format" not in vllm["args"]
        [copy] = deployment["spec"]["template"]["spec"]["initContainers"]
        assert copy["args"][:3] == ["s3", "sync", "store://meta-llama/Llama-3.1-8B-Instruct/"]
    assert validate_object(deployment) == []


def test_streaming_starts_faster_than_copying_then_reading() -> None:
    copied = weights_plan(_store_model(False), _store_model(False).models[0])
    streamed = weights_plan(_store_model(True), _store_model(True).models[0])
    assert streamed.startup_window_seconds <= copied.startup_window_seconds


# --- the single host -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", LoadPath.HUB),
        ("meta-llama/Llama-3.1-70B-Instruct", LoadPath.HUB),
        ("/models/Llama-3.1-8B-Instruct", LoadPath.DISK),
        ("s3://bucket/Llama-3.1-8B-Instruct/", LoadPath.STREAM),
    ],
)
def test_the_host_healthcheck_start_period_follows_the_model(model: str, path: LoadPath) -> None:
    stack, _ = parse(config(models(model=model)))
    expected = startup_window_seconds(weights_gib(stack.models[0]), path)
    assert start_period_seconds(stack) == expected
    files = {f.path: f.content for f in render_bundle(stack, "t", secret_source=SecretSource.FILES)}
    healthcheck = yaml.safe_load(files["docker-compose.yml"])["services"]["vllm"]["healthcheck"]
    assert healthcheck["start_period"] == f"{expected}s"
