"""How big a model's weights are, from its name and quantization, and the disk a host needs for them."""

from __future__ import annotations

import math
import re

from llmscale.config.models import ModelProfile, Quantization

_PARAMS = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])")
_MOE = re.compile(r"(\d+)x(\d+(?:\.\d+)?)[bB]", re.IGNORECASE)

BYTES_PER_PARAM: dict[Quantization | None, float] = {
    None: 2.0,
    Quantization.FP8: 1.0,
    Quantization.COMPRESSED_TENSORS: 1.0,
    Quantization.AWQ: 0.5,
    Quantization.GPTQ: 0.5,
    Quantization.BITSANDBYTES: 0.5,
}

AMI_ROOT_GIB = 75  # the GPU AMI's own root snapshot
IMAGES_GIB = 40  # vLLM's image is ~20 GiB unpacked; room for one upgrade beside it
MIN_DISK_GIB = 150


def parameters_billions(model: str) -> float | None:
    """Parameters in billions read from a model id (`Llama-3.1-8B` → 8, `Mixtral-8x7B` → 56), or None."""
    moe = _MOE.search(model)
    if moe:
        return int(moe.group(1)) * float(moe.group(2))
    sizes = [float(match) for match in _PARAMS.findall(model)]
    return max(sizes) if sizes else None


def weights_gib(profile: ModelProfile) -> float | None:
    """Size of the profile's weights on disk and in GPU memory, or None when the id does not say."""
    params = parameters_billions(profile.model)
    if params is None:
        return None
    return params * 1e9 * BYTES_PER_PARAM[profile.quantization] / 2**30


def host_disk_gib(profile: ModelProfile, stated: int | None) -> int:
    """Root volume for a single host: the AMI, container images and two copies of the weights (download + cache)."""
    if stated is not None:
        return stated
    weights = weights_gib(profile)
    if weights is None:
        return 300
    return max(MIN_DISK_GIB, math.ceil((AMI_ROOT_GIB + IMAGES_GIB + 2 * weights) / 10) * 10)
