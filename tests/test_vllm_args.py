"""Property tests for llmscale.serving.vllm_args: the `vllm serve` arguments as a pure function of a model profile.

For any valid profile the arguments must start with the model, serve the profile name first, carry the
profile's capacity and backpressure limits verbatim, add tensor parallelism and quantization exactly when
asked, end with the profile's extra arguments, and never set a flag twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale.config.credentials import extra_args_problem
from llmscale.config.models import ModelProfile, Quantization
from llmscale.serving.vllm_args import MODELLED_FLAGS, VLLM_PORT, flag_name, vllm_args

# --- strategies ------------------------------------------------------------------------------------------

names = st.from_regex(r"[a-z]([-a-z0-9]{0,30}[a-z0-9])?", fullmatch=True)
hf_part = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)
hf_ids = st.one_of(
    st.builds(lambda org, repo: f"{org}/{repo}", hf_part, hf_part),
    hf_part,
    st.builds(lambda path: f"/models/{path}", hf_part),
)
# Flags vLLM has that llmscale does not model, so a profile may pass them through `extraArgs`.
EXTRA_FLAGS = (
    "--enable-prefix-caching",
    "--enable-chunked-prefill",
    "--kv-cache-dtype",
    "--dtype",
    "--swap-space",
    "--max-num-batched-tokens",
    "--trust-remote-code",
    "--disable-log-requests",
    "--seed",
    "--tokenizer-mode",
    "--enforce-eager",
    "--pipeline-parallel-size",
)
flag_names = st.one_of(
    st.sampled_from(EXTRA_FLAGS),
    st.from_regex(r"--[a-z][a-z0-9-]{0,24}", fullmatch=True).filter(lambda flag: flag not in MODELLED_FLAGS),
)
flag_values = st.from_regex(r"[a-z0-9][a-z0-9._]{0,10}", fullmatch=True)


@st.composite
def extra_args(draw: st.DrawFn) -> list[str]:
    """Distinct extra flags, each bare, as `--flag=value`, or as `--flag value`."""
    flags = draw(st.lists(flag_names, max_size=6, unique=True))
    args: list[str] = []
    for flag in flags:
        form = draw(st.sampled_from(["bare", "equals", "separate"]))
        if form == "bare":
            args.append(flag)
        elif form == "equals":
            args.append(f"{flag}={draw(flag_values)}")
        else:
            args += [flag, draw(flag_values)]
    return args


@st.composite
def profiles(draw: st.DrawFn) -> ModelProfile:
    name = draw(names)
    model = draw(st.one_of(hf_ids, st.just(name)))  # the model id may equal the profile name
    max_num_seqs = draw(st.integers(1, 4096))
    min_replicas = draw(st.integers(0, 100))
    fields: dict[str, Any] = {
        "name": name,
        "model": model,
        "gpus_per_replica": draw(st.integers(1, 8)),
        "min_replicas": min_replicas,
        "max_replicas": draw(st.integers(max(min_replicas, 1), 100)),
        "max_model_len": draw(st.integers(256, 1_048_576)),
        "max_num_seqs": max_num_seqs,
        "max_num_queued_reqs": draw(st.none() | st.integers(max_num_seqs, 100_000)),
        # What people write: a fraction with a few decimals.
        "gpu_memory_utilization": float(
            draw(st.decimals(min_value=Decimal("0.11"), max_value=Decimal("0.98"), places=draw(st.integers(1, 4))))
        ),
        "quantization": draw(st.none() | st.sampled_from(list(Quantization))),
        # Flags and values whose names say they carry a credential are refused by the config (tested there).
        "extra_args": draw(extra_args().filter(lambda args: extra_args_problem(args) is None)),
    }
    return ModelProfile(**fields)


# --- helpers ---------------------------------------------------------------------------------------------


def value_of(args: list[str], flag: str) -> str:
    """The value after `flag` (which must appear exactly once)."""
    positions = [index for index, arg in enumerate(args) if arg == flag]
    assert len(positions) == 1, f"{flag} appears {len(positions)} times in {args}"
    return args[positions[0] + 1]


def served_names(args: list[str]) -> list[str]:
    start = args.index("--served-model-name") + 1
    result = []
    for arg in args[start:]:
        if arg.startswith("--"):
            break
        result.append(arg)
    return result


def modelled_part(args: list[str], profile: ModelProfile) -> list[str]:
    """The arguments before the profile's extra arguments."""
    return args[: len(args) - len(profile.extra_args)]


# --- properties ------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_model_comes_first(profile: ModelProfile) -> None:
    args = vllm_args(profile)
    assert args[0] == profile.model


@settings(max_examples=100, deadline=None)
@given(profiles(), st.builds(lambda path: f"/models/cache/{path}", hf_part))
def test_model_source_replaces_the_model_location(profile: ModelProfile, source: str) -> None:
    args = vllm_args(profile, model_source=source)
    assert args[0] == source
    # The served names do not change: clients still ask for the profile (or the model id).
    assert served_names(args) == served_names(vllm_args(profile))


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_profile_name_is_served_first(profile: ModelProfile) -> None:
    served = served_names(vllm_args(profile))
    assert served[0] == profile.name
    assert profile.model in served
    assert len(set(served)) == len(served)
    assert set(served) == {profile.name, profile.model}


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_limits_are_the_profile_values(profile: ModelProfile) -> None:
    args = modelled_part(vllm_args(profile), profile)
    assert value_of(args, "--max-model-len") == str(profile.max_model_len)
    assert value_of(args, "--max-num-seqs") == str(profile.max_num_seqs)
    assert float(value_of(args, "--gpu-memory-utilization")) == profile.gpu_memory_utilization
    queued = int(value_of(args, "--max-num-queued-reqs"))
    expected = profile.max_num_queued_reqs if profile.max_num_queued_reqs is not None else 3 * profile.max_num_seqs
    assert queued == expected == profile.queue_limit
    assert value_of(args, "--port") == str(VLLM_PORT)


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_queue_limit_defaults_to_three_batches(profile: ModelProfile) -> None:
    default = profile.model_copy(update={"max_num_queued_reqs": None})
    assert int(value_of(vllm_args(default), "--max-num-queued-reqs")) == 3 * profile.max_num_seqs


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_tensor_parallel_iff_several_gpus(profile: ModelProfile) -> None:
    args = modelled_part(vllm_args(profile), profile)
    if profile.gpus_per_replica > 1:
        assert value_of(args, "--tensor-parallel-size") == str(profile.gpus_per_replica)
    else:
        assert "--tensor-parallel-size" not in [flag_name(arg) for arg in args]


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_quantization_iff_set(profile: ModelProfile) -> None:
    args = modelled_part(vllm_args(profile), profile)
    if profile.quantization is not None:
        assert value_of(args, "--quantization") == profile.quantization.value
    else:
        assert "--quantization" not in [flag_name(arg) for arg in args]


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_extra_args_come_last_unchanged(profile: ModelProfile) -> None:
    args = vllm_args(profile)
    if profile.extra_args:
        assert args[-len(profile.extra_args) :] == profile.extra_args
    # Nothing of the extra arguments leaks into the modelled part, and nothing is dropped.
    assert len(args) == len(vllm_args(profile.model_copy(update={"extra_args": []}))) + len(profile.extra_args)


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_no_flag_appears_twice(profile: ModelProfile) -> None:
    flags = [flag_name(arg) for arg in vllm_args(profile) if arg.startswith("--")]
    assert len(flags) == len(set(flags)), flags


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_every_modelled_flag_but_the_api_key_is_set_by_llmscale(profile: ModelProfile) -> None:
    """vLLM checks no key itself (the gateway does), and llmscale sets the flags it models from the profile."""
    flags = {flag_name(arg) for arg in modelled_part(vllm_args(profile), profile) if arg.startswith("--")}
    assert "--api-key" not in flags
    always = {"--served-model-name", "--host", "--port", "--max-model-len", "--max-num-seqs"}
    assert always | {"--gpu-memory-utilization", "--max-num-queued-reqs"} <= flags
    assert flags <= set(MODELLED_FLAGS)


def test_onprem_like_profile() -> None:
    profile = ModelProfile(
        name="analysis",
        model="Qwen/Qwen2.5-32B-Instruct-AWQ",
        gpus_per_replica=2,
        max_model_len=32768,
        max_num_seqs=32,
        quantization="awq",
        extra_args=["--enable-prefix-caching"],
    )
    assert vllm_args(profile) == [
        "Qwen/Qwen2.5-32B-Instruct-AWQ",
        "--served-model-name",
        "analysis",
        "Qwen/Qwen2.5-32B-Instruct-AWQ",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--max-model-len",
        "32768",
        "--max-num-seqs",
        "32",
        "--gpu-memory-utilization",
        "0.9",
        "--max-num-queued-reqs",
        "96",
        "--shutdown-timeout",
        "600",
        "--tensor-parallel-size",
        "2",
        "--quantization",
        "awq",
        "--enable-prefix-caching",
    ]


def test_profile_named_like_its_model_is_served_once() -> None:
    args = vllm_args(ModelProfile(name="mistral", model="mistral"))
    assert served_names(args) == ["mistral"]
