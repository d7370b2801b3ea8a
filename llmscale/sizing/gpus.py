"""The accelerators the capacity planner knows: memory bandwidth, memory, dense FLOPs, FP8 support, and names.

Decode is memory-bound at low batch (a token reads every weight once), prefill is compute-bound, and the
memory left after the weights bounds the KV cache: these three figures per GPU are all the planner scales by.
Values are datasheet figures; where a public benchmark report states them, that report is cited instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmscale.config.models import Quantization
from llmscale.sizing import catalog
from llmscale.sizing.model_size import BYTES_PER_PARAM


class CalibrationError(ValueError):
    """A calibration file, or a GPU name, the planner cannot use; the message says what to fix."""


@dataclass(frozen=True)
class GpuSpec:
    """One GPU model: what the planner needs to scale throughput to it."""

    name: str
    bandwidth_gb_s: float
    memory_gib: int
    dense_tflops: float  # dense BF16/FP16 tensor throughput
    fp8: bool  # FP8 tensor cores: FP8 weights also double prefill speed
    source: str


_DATASHEET = "NVIDIA datasheet value, UNVERIFIED here"
# MI300X and H200 figures as the single-GPU comparison alpharomercoma/MI300X-vs-H200 METHODOLOGY.md states them
# (BF16 dense 1307.4 / 989.4 TFLOP/s, HBM 5.3 / 4.8 TB/s, 192 / 141 GB).
_MI300X_H200 = "alpharomercoma/MI300X-vs-H200 METHODOLOGY.md (spec table)"
GPU_SPECS: dict[str, GpuSpec] = {
    spec.name: spec
    for spec in (
        GpuSpec("T4", 320, 16, 65, False, _DATASHEET),
        GpuSpec("A10G", 600, 24, 70, False, f"bandwidth FACTS.md; FLOPs {_DATASHEET}"),
        GpuSpec("L4", 300, 24, 121, True, f"bandwidth FACTS.md (datasheet); FLOPs {_DATASHEET}"),
        GpuSpec("L40S", 864, 48, 362, True, f"bandwidth FACTS.md (datasheet); FLOPs {_DATASHEET}"),
        GpuSpec("A100-40GB", 1555, 40, 312, False, f"bandwidth FACTS.md; FLOPs {_DATASHEET}"),
        GpuSpec("A100-80GB", 2039, 80, 312, False, f"bandwidth FACTS.md (SXM, datasheet); FLOPs {_DATASHEET}"),
        GpuSpec("H100", 3350, 80, 989, True, f"bandwidth FACTS.md (SXM, datasheet); FLOPs {_DATASHEET}"),
        GpuSpec("H200", 4800, 141, 989.4, True, _MI300X_H200),
        GpuSpec("B200", 8000, 180, 2250, True, _DATASHEET),
        GpuSpec("MI300X", 5300, 192, 1307.4, True, _MI300X_H200),
    )
}
_ALIASES = {
    "a10g": "A10G",
    "t4": "T4",
    "l4": "L4",
    "l40s": "L40S",
    "a100-40gb": "A100-40GB",
    "a100-40": "A100-40GB",
    "a100-80gb": "A100-80GB",
    "a100-80": "A100-80GB",
    "h100": "H100",
    "h100-80gb": "H100",
    "h100-sxm": "H100",
    "h200": "H200",
    "h200-141gb": "H200",
    "b200": "B200",
    "mi300x": "MI300X",
}


def resolve_gpu(name: str) -> tuple[GpuSpec, int | None]:
    """The GPU model behind `name` and, for an EC2 instance type, how many GPUs one instance has.

    Accepts a GPU model (A10G, L4, L40S, A100-40GB, A100-80GB, H100, H200, B200, MI300X, T4), an EC2 instance
    type from the catalogue (g5.xlarge → A10G), or a node type that names its GPU (onprem.l40s-x4 → L40S).
    """
    key = name.strip().lower()
    if key in _ALIASES:
        return GPU_SPECS[_ALIASES[key]], None
    if key == "a100":
        raise CalibrationError("gpu A100 is ambiguous: use A100-40GB or A100-80GB")
    instance = catalog.lookup(key)
    if instance is not None:
        model = instance.gpu_model if instance.gpu_model != "A100" else f"A100-{instance.gpu_memory_gib}GB"
        return GPU_SPECS[_ALIASES[model.lower()]], instance.gpus
    tokens = [token for token in _split(key) if token]
    for token in tokens:
        if token in _ALIASES:
            return GPU_SPECS[_ALIASES[token]], None
        if token == "a100":
            memory = "80" if any(t.startswith("80") for t in tokens) else "40" if "40gb" in tokens else None
            if memory:
                return GPU_SPECS[f"A100-{memory}GB"], None
    known = ", ".join(GPU_SPECS)
    raise CalibrationError(
        f"gpu {name}: unknown; use a GPU model ({known}) or a catalogued EC2 instance type such as g5.xlarge"
    )


def _split(text: str) -> list[str]:
    out, current = [], ""
    for char in text:
        if char.isalnum():
            current += char
        else:
            out.append(current)
            current = ""
    out.append(current)
    return out


def bytes_per_param(quantization: Quantization | None) -> float:
    """Bytes per weight for a quantization (None = BF16/FP16)."""
    return BYTES_PER_PARAM[quantization]
