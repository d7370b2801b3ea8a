"""LoRA adapters in vLLM 0.33: the ranks it accepts and the GPU memory its adapter slots take.

Read from the vllm 0.33.0 wheel:

- `--max-lora-rank` takes one of `1, 8, 16, 32, 64, 128, 256, 320, 512` (default 16); an adapter of a higher
  rank than it fails to load, which aborts the server's start (`vllm/config/lora.py` `MaxLoRARanks`;
  `vllm/lora/peft_helper.py` "LoRA rank … is greater than max_lora_rank").
- With LoRA enabled, vLLM wraps every linear layer of the model and its embedding and LM head
  (`vllm/lora/model_manager.py` `_create_lora_modules`, `vllm/lora/utils.py` `get_supported_lora_modules`) and
  allocates, per wrapped layer and per GPU, zeroed A and B buffers for `--max-loras` slots at `--max-lora-rank`
  in the model's dtype, whatever the rank of the adapters loaded into them:
  - column-parallel layers (`qkv_proj` in 3 slices, `gate_up_proj` in 2): A `max_loras × rank × input` per
    slice, B `max_loras × output/tp × rank` (`vllm/lora/layers/base_linear.py` and `column_parallel_linear.py`
    `create_lora_weights`);
  - row-parallel layers (`o_proj`, `down_proj`): A `max_loras × rank × input/tp`, B `max_loras × output × rank`
    (`row_parallel_linear.py` resets `input_size` to the partition);
  - the embedding: A `max_loras × vocab × rank`, B `max_loras × hidden × rank`
    (`vocab_parallel_embedding.py`); the LM head: A `max_loras × rank × hidden`, B `max_loras × vocab × rank`
    (`logits_processor.py`).

  Summed over a decoder of `L` layers with hidden size `H`, key/value width `KV` (KV heads × head size),
  intermediate size `I`, vocabulary `V` and tensor-parallel size `tp`, that is per GPU

      bytes = max_loras × max_lora_rank × dtype_bytes × (L × (7H + (2H + 2KV + 3I) / tp) + 2 (V + H))

  These buffers are allocated while the model loads, before vLLM measures the memory left for the KV cache,
  so they come out of the KV cache (`--gpu-memory-utilization` is a cap on everything).

The shapes come from the models' own config.json (the same reference models the capacity planner's KV-cache
table is read from, `llmscale.sizing.inputs.KV_KIB_PER_TOKEN`); llmscale knows a model's size only from its
name, so the shape is that of the smallest reference model at least as large (a larger model takes more).
"""

from __future__ import annotations

from dataclasses import dataclass

ALLOWED_MAX_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
DEFAULT_RANK = 16  # vLLM's default --max-lora-rank: what an adapter whose rank is not stated must fit
LORA_DTYPE_BYTES = 2  # `--lora-dtype auto`: the model's dtype, BF16/FP16 (also for quantized weights' activations)


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder that size its LoRA buffers, from a reference model's config.json."""

    reference: str
    params_billions: float
    hidden: int
    layers: int
    kv_width: int  # num_key_value_heads × head_dim
    intermediate: int
    vocab: int


# config.json of each reference model: hidden_size, num_hidden_layers, num_key_value_heads × head_dim,
# intermediate_size, vocab_size.
REFERENCE_SHAPES: tuple[ModelShape, ...] = (
    ModelShape("Qwen/Qwen2.5-0.5B", 0.5, 896, 24, 2 * 64, 4864, 151_936),
    ModelShape("meta-llama/Llama-3.2-1B", 1, 2048, 16, 8 * 64, 8192, 128_256),
    ModelShape("meta-llama/Llama-3.2-3B", 3, 3072, 28, 8 * 128, 8192, 128_256),
    ModelShape("meta-llama/Llama-3.1-8B", 8, 4096, 32, 8 * 128, 14_336, 128_256),
    ModelShape("Qwen/Qwen2.5-14B", 14, 5120, 48, 8 * 128, 13_824, 152_064),
    ModelShape("Qwen/Qwen2.5-32B", 32, 5120, 64, 8 * 128, 27_648, 152_064),
    ModelShape("meta-llama/Llama-3.1-70B", 70, 8192, 80, 8 * 128, 28_672, 128_256),
    ModelShape("meta-llama/Llama-3.1-405B", 405, 16_384, 126, 8 * 128, 53_248, 128_256),
)


def max_lora_rank(ranks: list[int]) -> int:
    """vLLM's `--max-lora-rank` for adapters of these ranks: the smallest allowed value at least the largest.

    Raises ValueError when a rank exceeds the largest value vLLM allows (512).
    """
    largest = max(ranks, default=DEFAULT_RANK)
    for allowed in ALLOWED_MAX_RANKS:
        if allowed >= largest:
            return allowed
    raise ValueError(f"rank {largest} is above vLLM's largest --max-lora-rank ({ALLOWED_MAX_RANKS[-1]})")


def model_shape(params_billions: float) -> ModelShape:
    """The reference shape for a model of this size: the smallest reference at least as large, else the largest."""
    for shape in REFERENCE_SHAPES:
        if shape.params_billions >= params_billions:
            return shape
    return REFERENCE_SHAPES[-1]


def slot_elements(shape: ModelShape, rank: int, tensor_parallel: int) -> float:
    """Elements of one LoRA slot's A and B buffers on one GPU, at `rank` (see the module's formula)."""
    h, kv, inter = shape.hidden, shape.kv_width, shape.intermediate
    per_layer = 7 * h + (2 * h + 2 * kv + 3 * inter) / tensor_parallel
    return rank * (shape.layers * per_layer + 2 * (shape.vocab + h))


def lora_gib_per_gpu(shape: ModelShape, *, max_loras: int, rank: int, tensor_parallel: int) -> float:
    """GiB of GPU memory vLLM allocates on each GPU for `max_loras` slots at `--max-lora-rank` `rank`."""
    return max_loras * slot_elements(shape, rank, tensor_parallel) * LORA_DTYPE_BYTES / 2**30


def adapter_gib(shape: ModelShape, rank: int) -> float:
    """An upper bound of one adapter's size on disk (every layer targeted, in BF16): what a start downloads."""
    return slot_elements(shape, rank, 1) * LORA_DTYPE_BYTES / 2**30
