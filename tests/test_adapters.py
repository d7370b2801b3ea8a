"""LoRA adapters: the `adapters` list of a profile, its config errors, vLLM's arguments on both platforms, the
init containers that copy model-store adapters, the GPU memory they take, and the gateways that let their
names through."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from llmscale.config.adapters import ADAPTER_NAME, AdapterConfig, adapter_profiles
from llmscale.config.loader import load_stack
from llmscale.config.models import DNS_LABEL, ConfigModel, ModelProfile, StackConfig
from llmscale.host.bundle import SecretSource, render_bundle
from llmscale.k8s.routes import http_route_manifest
from llmscale.k8s.schema import validate_object
from llmscale.k8s.workload import deployment_manifest
from llmscale.serving.lora import (
    ALLOWED_MAX_RANKS,
    REFERENCE_SHAPES,
    lora_gib_per_gpu,
    max_lora_rank,
    model_shape,
    slot_elements,
)
from llmscale.serving.vllm_args import vllm_args
from tests.test_config import K8S, MODEL_ID, assert_well_formed, config, models, parse, problems_of

SQL = {"name": "sql", "source": "org/sql-lora", "rank": 8}
SUMMARY = {"name": "summary", "source": "org/summary-lora", "rank": 64}

# --- how vLLM 0.33 reads the arguments ---------------------------------------------------------------------
# `LoRAParserAction` (vllm/entrypoints/common/cli_args.py): every value after `--lora-modules` up to the next
# flag is one module, `name=path` when it has "=" and no ",", else a JSON object whose keys are the fields of
# `LoRAModulePath` (vllm/entrypoints/openai/models/protocol.py). `GET /v1/models` lists the served names, then
# one card per module with `id` = its name and `parent` = its base model name or the first served name
# (vllm/entrypoints/openai/models/serving.py `show_available_models`).
LORA_MODULE_FIELDS = {"name", "path", "base_model_name", "is_3d_lora_weight"}


def _values(args: list[str], flag: str) -> list[str]:
    start = args.index(flag) + 1
    end = next((i for i in range(start, len(args)) if args[i].startswith("--")), len(args))
    return args[start:end]


def lora_modules(args: list[str]) -> list[dict[str, Any]]:
    """The modules vLLM's parser makes of the arguments (empty without `--lora-modules`)."""
    if "--lora-modules" not in args:
        return []
    modules = []
    for item in _values(args, "--lora-modules"):
        if "=" in item and "," not in item:
            name, path = item.split("=", 1)
            modules.append({"name": name, "path": path})
            continue
        module = json.loads(item)
        assert isinstance(module, dict) and set(module) <= LORA_MODULE_FIELDS, item  # a list would be refused
        modules.append(module)
    return modules


def served_models(args: list[str]) -> list[tuple[str, str | None]]:
    """`GET /v1/models` of a server started with these arguments: (id, parent) per card."""
    served = _values(args, "--served-model-name")
    cards: list[tuple[str, str | None]] = [(name, None) for name in served]
    cards += [(m["name"], m.get("base_model_name") or served[0]) for m in lora_modules(args)]
    return cards


def k8s_config(*profiles: dict[str, Any]) -> StackConfig:
    stack, _ = parse(config(K8S, {"llmscale:models": list(profiles)}))
    return stack


def adapters_problems(values: dict[str, Any]) -> list[str]:
    error = problems_of(values)
    assert_well_formed(error)
    return error.lines()


# --- the model ---------------------------------------------------------------------------------------------


def test_adapter_names_follow_profile_names_and_config_model_settings() -> None:
    assert ADAPTER_NAME == DNS_LABEL
    assert AdapterConfig.model_config == ConfigModel.model_config


def test_adapters_parse_with_camel_case_keys_and_default_rank() -> None:
    stack, _ = parse(config(models(adapters=[{"name": "sql", "source": "org/sql-lora"}])))
    [adapter] = stack.models[0].adapters
    assert (adapter.name, adapter.source, adapter.rank, adapter.effective_rank) == ("sql", "org/sql-lora", None, 16)


# --- config errors: one line each, naming file and key --------------------------------------------------------


def test_an_adapter_named_like_a_profile_is_refused() -> None:
    values = config(
        K8S,
        {
            "llmscale:models": [
                {"name": "chat", "model": MODEL_ID, "adapters": [{"name": "code", "source": "org/a"}]},
                {"name": "code", "model": MODEL_ID},
            ]
        },
    )
    assert adapters_problems(values) == [
        "stacks/Pulumi.test.yaml: llmscale:models[0].adapters[0].name: code is the name of profile code: a request "
        "naming it would not reach the adapter"
    ]


def test_an_adapter_named_like_a_served_model_id_is_refused() -> None:
    values = config(models(model="gpt2", adapters=[{"name": "gpt2", "source": "org/a"}]))
    [line] = adapters_problems(values)
    assert line.endswith(
        "llmscale:models[0].adapters[0].name: gpt2 is a model name served by profile chat: a "
        "request naming it would not reach the adapter"
    )


def test_adapter_names_are_unique_in_the_stack() -> None:
    values = config(
        K8S,
        {
            "llmscale:models": [
                {"name": "chat", "model": MODEL_ID, "adapters": [SQL, {**SQL, "source": "org/other"}]},
                {"name": "code", "model": MODEL_ID, "adapters": [SQL]},
            ]
        },
    )
    assert [line.split(": ", 1)[1] for line in adapters_problems(values)] == [
        "llmscale:models[0].adapters[1].name: sql is used twice (first in profile chat)",
        "llmscale:models[1].adapters[0].name: sql is used twice (first in profile chat)",
    ]


@pytest.mark.parametrize(
    ("adapter", "key", "message"),
    [
        ({"name": "SQL", "source": "org/a"}, "name", "must be a lowercase DNS label"),
        ({"name": "sql", "source": "s3://bucket/a/"}, "source", "vLLM cannot read s3:// adapters itself"),
        ({"name": "sql", "source": "org/a", "rank": 1024}, "rank", "must be at most 512: vLLM 0.33's --max-lora-rank"),
        ({"name": "sql", "source": "org/a", "rank": 0}, "rank", "greater than or equal to 1"),
        ({"name": "sql", "source": "org/a", "alpha": 16}, "alpha", "unknown key"),
    ],
    ids=["name", "s3-source", "rank-too-large", "rank-zero", "unknown-key"],
)
def test_invalid_adapters_name_the_key(adapter: dict[str, Any], key: str, message: str) -> None:
    [line] = adapters_problems(config(models(adapters=[adapter])))
    assert f"llmscale:models[0].adapters[0].{key}: " in line
    assert message in line


def test_store_adapters_need_the_model_store() -> None:
    values = config(models(adapters=[{"name": "sql", "source": "store://org/sql/"}]))
    [line] = adapters_problems(values)
    assert "llmscale:models[0].adapters[0].source: store:// reads the stack's model store" in line


def test_too_many_adapters_for_the_gpu_memory_are_refused() -> None:
    # One A10G (24 GiB at 0.9, less 1.5 GiB overhead = 20.1 GiB) holds the 8B model's 15 GiB and 1 GiB of KV
    # cache for 8192 tokens; two rank-512 slots take 5.5 GiB more.
    big = [{"name": f"a{i}", "source": f"org/a{i}", "rank": 512} for i in range(2)]
    values = config({"llmscale:gpu": {"instanceType": "g5.xlarge"}}, models(adapters=big, gpuMemoryUtilization=0.9))
    [line] = adapters_problems(values)
    assert "llmscale:models[0].adapters: 2 adapters at --max-lora-rank 512 take 5.5 GiB of GPU memory" in line
    assert "list fewer adapters, lower their rank, or give the replica more GPUs" in line
    # The same adapters at rank 8 fit.
    parse(config({"llmscale:gpu": {"instanceType": "g5.xlarge"}}, models(adapters=[{**a, "rank": 8} for a in big])))


def test_a_model_that_never_fitted_is_not_blamed_on_its_adapters() -> None:
    """A 70B model does not fit one A10G with or without adapters: that is not the adapters' error."""
    parse(config({"llmscale:gpu": {"instanceType": "g5.xlarge"}}, models(model="org/Model-70B", adapters=[SQL])))


# --- vLLM's arguments --------------------------------------------------------------------------------------


def test_without_adapters_no_lora_flag() -> None:
    args = vllm_args(ModelProfile(name="chat", model=MODEL_ID))
    assert not [a for a in args if "lora" in a]


def test_adapters_reach_vllm_arguments_on_kubernetes_and_the_served_model_list() -> None:
    stack = k8s_config({"name": "chat", "model": MODEL_ID, "adapters": [SQL, SUMMARY]})
    args = deployment_manifest(stack, stack.models[0])["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--max-loras") + 1] == "2"
    assert args[args.index("--max-cpu-loras") + 1] == "2"
    assert args[args.index("--max-lora-rank") + 1] == "64"
    assert "--enable-lora" in args
    assert lora_modules(args) == [
        {"name": "sql", "path": "org/sql-lora", "base_model_name": "chat"},
        {"name": "summary", "path": "org/summary-lora", "base_model_name": "chat"},
    ]
    assert served_models(args) == [("chat", None), (MODEL_ID, None), ("sql", "chat"), ("summary", "chat")]
    assert adapter_profiles(stack) == {"sql": "chat", "summary": "chat"}


def test_adapters_reach_vllm_arguments_on_the_single_host() -> None:
    stack, _ = parse(config(models(adapters=[SQL])))
    files = {f.path: f.content for f in render_bundle(stack, "t", secret_source=SecretSource.FILES)}
    compose = yaml.safe_load(files["docker-compose.yml"])
    args = compose["services"]["vllm"]["command"]
    assert served_models(args) == [("chat", None), (MODEL_ID, None), ("sql", "chat")]
    assert args[args.index("--max-lora-rank") + 1] == "8"
    # The start script asks the Hub about the adapter before starting vLLM, as about the model.
    assert 'ADAPTERS = ["org/sql-lora"]' in files["bin/check-hf-access.py"]


@given(st.lists(st.integers(min_value=1, max_value=512), min_size=1, max_size=8))
def test_max_lora_rank_is_the_smallest_allowed_value_that_fits(ranks: list[int]) -> None:
    chosen = max_lora_rank(ranks)
    assert chosen in ALLOWED_MAX_RANKS and chosen >= max(ranks)
    assert all(allowed < max(ranks) for allowed in ALLOWED_MAX_RANKS if allowed < chosen)


def test_a_rank_above_the_largest_allowed_value_has_no_max_lora_rank() -> None:
    with pytest.raises(ValueError, match="above vLLM's largest"):
        max_lora_rank([513])


# --- model-store adapters on Kubernetes -----------------------------------------------------------------------


def _aws_k8s() -> StackConfig:
    """The multi-gpu example (platform aws, with a model store) serving a Hub adapter and a store adapter."""
    example = load_stack("multi-gpu").config
    adapters = [AdapterConfig(**SQL), AdapterConfig(**{**SUMMARY, "source": "store://ad/s/"})]
    return example.model_copy(update={"models": [example.models[0].model_copy(update={"adapters": adapters})]})


def test_store_adapters_are_copied_by_an_init_container_that_validates() -> None:
    stack = _aws_k8s()
    deployment = deployment_manifest(stack, stack.models[0], aws_region="eu-west-1")
    pod = deployment["spec"]["template"]["spec"]
    [copy] = pod["initContainers"]
    assert copy["name"] == "copy-adapter-summary"
    assert copy["args"] == ["s3", "sync", "store://ad/s/", "/models/adapters/summary/", "--only-show-errors"]
    assert {"name": "AWS_REGION", "value": "eu-west-1"} in copy["env"]
    assert copy["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["name"] for m in copy["volumeMounts"]} <= {v["name"] for v in pod["volumes"]}
    args = pod["containers"][0]["args"]
    profile = stack.models[0].name
    assert {"name": "summary", "path": "/models/adapters/summary", "base_model_name": profile} in lora_modules(args)
    assert validate_object(deployment) == []


# --- the gateways let adapter names through -------------------------------------------------------------------


def test_the_profile_route_matches_on_the_path_only() -> None:
    """Envoy sees only `/<profile>/v1`: whatever `model` a request names (an adapter), it reaches the pods."""
    stack = k8s_config({"name": "chat", "model": MODEL_ID, "adapters": [SQL]})
    [rule] = http_route_manifest(stack, stack.models[0])["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/chat/v1"}}]


def test_the_host_gateway_does_not_look_at_the_model_name() -> None:
    stack, _ = parse(config(models(adapters=[SQL])))
    files = {f.path: f.content for f in render_bundle(stack, "t", secret_source=SecretSource.FILES)}
    # Caddy proxies /v1/* by path and API key; the usage meter counts tokens and forwards the body untouched.
    assert "model" not in files["caddy/Caddyfile"].split("handle /v1/*", 1)[1].split("handle {", 1)[0]
    assert '"model"' not in files["usage-meter/usage-meter.py"]


# --- the GPU memory of adapter slots --------------------------------------------------------------------------


def test_lora_memory_of_llama_8b_by_hand() -> None:
    shape = model_shape(8)
    assert shape.reference == "meta-llama/Llama-3.1-8B"
    # 32 layers × (7·4096 + 2·4096 + 2·1024 + 3·14336) + 2 (128256 + 4096) = 2,886,144 per unit of rank.
    assert slot_elements(shape, 1, 1) == 2_886_144
    assert lora_gib_per_gpu(shape, max_loras=4, rank=16, tensor_parallel=1) == pytest.approx(
        4 * 16 * 2_886_144 * 2 / 2**30
    )


@given(
    st.sampled_from(REFERENCE_SHAPES),
    st.integers(1, 16),
    st.sampled_from(ALLOWED_MAX_RANKS),
    st.sampled_from((1, 2, 4, 8)),
)
def test_lora_memory_grows_with_slots_and_rank_and_shrinks_with_tensor_parallelism(
    shape: Any, slots: int, rank: int, tp: int
) -> None:
    gib = lora_gib_per_gpu(shape, max_loras=slots, rank=rank, tensor_parallel=tp)
    assert gib == pytest.approx(slots * lora_gib_per_gpu(shape, max_loras=1, rank=rank, tensor_parallel=tp))
    assert gib <= lora_gib_per_gpu(shape, max_loras=slots, rank=rank, tensor_parallel=1)
    # The replicated parts (A of column-parallel, B of row-parallel, embedding, head) stay on every GPU.
    if tp > 1:
        assert gib > lora_gib_per_gpu(shape, max_loras=slots, rank=rank, tensor_parallel=1) / tp


@given(st.floats(min_value=0.1, max_value=1000))
def test_the_reference_shape_is_never_smaller_than_the_model(params: float) -> None:
    shape = model_shape(params)
    assert shape.params_billions >= params or shape is REFERENCE_SHAPES[-1]


@pytest.mark.parametrize("flag", ["--enable-lora", "--max-loras=4", "--max-lora-rank=64", "--lora-modules"])
def test_lora_flags_come_from_the_adapters_list_not_extra_args(flag: str) -> None:
    [line] = adapters_problems(config(models(extraArgs=[flag])))
    assert "llmscale:models[0].extraArgs: " in line
    assert "is set by llmscale from the profile's keys" in line
