"""LoRA adapters of a model profile: the `adapters` list of `llmscale:models[]` and the checks it needs.

An adapter is served by its profile's vLLM replicas beside the base model; a client selects it by naming it in
the OpenAI `model` field of a request to the profile's URL. Adapter names are unique across the stack and never
equal a profile's or a served model's name, so one name always means one model on one set of replicas: what
routing by model name (adapter affinity, a later routing strategy) needs (`adapter_profiles`).

`llmscale.config.models` imports this module for the field's type, so it imports nothing of the config at
module level: the checks take a StackConfig and import what sizes it inside the function.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from llmscale.serving.lora import ALLOWED_MAX_RANKS, DEFAULT_RANK, lora_gib_per_gpu, max_lora_rank, model_shape

if TYPE_CHECKING:
    from llmscale.config.errors import Problem
    from llmscale.config.models import ModelProfile, StackConfig

# The same DNS-label rule as profile names (`llmscale.config.models.DNS_LABEL`, a test keeps them equal): an
# adapter name is a model name clients send, a Prometheus label value in vLLM's comma-joined
# `running_lora_adapters`, and may name Kubernetes objects of a routing layer.
ADAPTER_NAME = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
HF_REPOSITORY = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
STORE_PATH = re.compile(r"^store://[\w.-]+(/[\w.-]+)*/?$")


class AdapterConfig(BaseModel):
    """A LoRA adapter served by the profile's replicas beside its base model, selected by name."""

    # The settings of `llmscale.config.models.ConfigModel`, which this module cannot import (a test keeps them equal).
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    name: Annotated[
        str,
        Field(
            pattern=ADAPTER_NAME,
            description="The adapter's name: what clients send as the OpenAI `model` to the profile's URL to use "
            "it. Unique in the stack, and neither a profile's name nor a model id a profile serves.",
        ),
    ]
    source: Annotated[
        str,
        Field(
            min_length=1,
            description="Where the adapter's files are: a Hugging Face id (`org/name`, downloaded by vLLM at start "
            "with the stack's token), or `store://org/name/`, a path in the stack's model store (multi-gpu and "
            "enterprise on platform aws), copied to the pod by an init container before vLLM starts.",
        ),
    ]
    rank: Annotated[
        int | None,
        Field(
            ge=1,
            description="The adapter's LoRA rank (`r` in its adapter_config.json): sets vLLM's `--max-lora-rank` "
            "(the smallest of 1, 8, 16, 32, 64, 128, 256, 320, 512 at least the largest rank) and the GPU memory the "
            f"adapters take. None: {DEFAULT_RANK}, vLLM's default; an adapter of a higher rank fails to load and "
            "stops the server from starting.",
        ),
    ] = None

    @field_validator("source")
    @classmethod
    def _known_source(cls, source: str) -> str:
        if not (HF_REPOSITORY.match(source) or STORE_PATH.match(source)):
            raise ValueError(
                "must be a Hugging Face id such as org/adapter, or store://org/adapter/ for a path in the stack's "
                "model store (vLLM cannot read s3:// adapters itself)"
            )
        return source

    @field_validator("rank")
    @classmethod
    def _fits_vllm(cls, rank: int | None) -> int | None:
        if rank is not None and rank > ALLOWED_MAX_RANKS[-1]:
            raise ValueError(
                f"must be at most {ALLOWED_MAX_RANKS[-1]}: vLLM 0.33's --max-lora-rank is one of "
                f"{', '.join(map(str, ALLOWED_MAX_RANKS))}"
            )
        return rank

    @property
    def effective_rank(self) -> int:
        """The rank vLLM must make room for: as stated, else vLLM's default `--max-lora-rank`."""
        return self.rank if self.rank is not None else DEFAULT_RANK

    @property
    def store_path(self) -> str | None:
        """The path inside the model store of a `store://` source, else None."""
        return self.source.removeprefix("store://") if self.source.startswith("store://") else None


def lora_rank(profile: ModelProfile) -> int:
    """vLLM's `--max-lora-rank` for a profile's adapters."""
    return max_lora_rank([adapter.effective_rank for adapter in profile.adapters])


def adapter_profiles(config: StackConfig) -> dict[str, str]:
    """Adapter name → the profile whose replicas serve it: the model-name routing table of the stack."""
    return {adapter.name: profile.name for profile in config.models for adapter in profile.adapters}


def _served_names(config: StackConfig) -> dict[str, str]:
    """Every name a profile serves (its own and its model id, as vLLM's `--served-model-name`) → the profile."""
    from llmscale.serving.vllm_args import served_model_names

    return {name: profile.name for profile in config.models for name in served_model_names(profile)}


def _name_problems(config: StackConfig) -> list[Problem]:
    from llmscale.config.errors import Problem, dotted_key

    served = _served_names(config)
    problems: list[Problem] = []
    first_use: dict[str, str] = {}
    for index, profile in enumerate(config.models):
        for position, adapter in enumerate(profile.adapters):
            key = dotted_key(["models", index, "adapters", position, "name"])
            if adapter.name in served:
                owner = served[adapter.name]
                what = "the name of profile" if adapter.name == owner else "a model name served by profile"
                problems.append(
                    Problem(key, f"{adapter.name} is {what} {owner}: a request naming it would not reach the adapter")
                )
            elif adapter.name in first_use:
                problems.append(Problem(key, f"{adapter.name} is used twice (first in {first_use[adapter.name]})"))
            else:
                first_use[adapter.name] = f"profile {profile.name}"
    return problems


def _source_problems(config: StackConfig) -> list[Problem]:
    from llmscale.config.errors import Problem, dotted_key
    from llmscale.config.models import Platform, Tier

    has_store = config.platform is Platform.AWS and config.tier is not Tier.SINGLE_GPU
    return [
        Problem(
            dotted_key(["models", index, "adapters", position, "source"]),
            "store:// reads the stack's model store, which only the multi-gpu and enterprise tiers on platform aws "
            "have; use a Hugging Face id",
        )
        for index, profile in enumerate(config.models)
        for position, adapter in enumerate(profile.adapters)
        if adapter.store_path is not None and not has_store
    ]


def _memory_problems(config: StackConfig) -> list[Problem]:
    """Adapters whose GPU buffers leave no room for one request of the profile's longest context.

    vLLM refuses to start when the KV cache left after weights (and LoRA buffers) cannot hold `--max-model-len`
    tokens. The budget is the capacity planner's: per GPU, memory × `--gpu-memory-utilization` less the CUDA
    context and activations (`OVERHEAD_GIB_PER_GPU`); the KV cache per token is the planner's table. A profile
    whose model size or GPU llmscale does not know is not checked.
    """
    from llmscale.config.errors import Problem, dotted_key
    from llmscale.sizing import catalog
    from llmscale.sizing.inputs import kv_bytes_per_token
    from llmscale.sizing.model_size import parameters_billions, weights_gib
    from llmscale.sizing.serving import OVERHEAD_GIB_PER_GPU

    node = catalog.lookup(config.gpu.instance_type)
    problems: list[Problem] = []
    for index, profile in enumerate(config.models):
        params, weights = parameters_billions(profile.model), weights_gib(profile)
        if not profile.adapters or node is None or params is None or weights is None:
            continue
        tp = profile.gpus_per_replica
        usable = tp * (node.gpu_memory_gib * profile.gpu_memory_utilization - OVERHEAD_GIB_PER_GPU)
        kv = kv_bytes_per_token(params) * profile.max_model_len / 2**30
        rank = lora_rank(profile)
        lora = tp * lora_gib_per_gpu(
            model_shape(params), max_loras=len(profile.adapters), rank=rank, tensor_parallel=tp
        )
        if weights + kv <= usable < weights + kv + lora:
            problems.append(
                Problem(
                    dotted_key(["models", index, "adapters"]),
                    f"{len(profile.adapters)} adapters at --max-lora-rank {rank} take {lora:.1f} GiB of GPU memory; "
                    f"with {weights:.0f} GiB of weights and {kv:.1f} GiB of KV cache for one {profile.max_model_len}"
                    f"-token request, {tp}x {node.gpu_model} ({usable:.0f} GiB usable) cannot hold them: list fewer "
                    "adapters, lower their rank, or give the replica more GPUs",
                )
            )
    return problems


def adapter_problems(config: StackConfig) -> list[Problem]:
    """Every problem of the stack's adapters, in a stable order: names, sources, GPU memory."""
    return [*_name_problems(config), *_source_problems(config), *_memory_problems(config)]
