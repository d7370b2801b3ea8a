"""GPU instance types llmscale knows: GPUs, GPU model and memory, vCPUs and host memory per instance.

Sizing, validation and the single host's disk and shared-memory settings read this table; an instance type
that is not listed can still be used when the stack states `llmscale:gpu.gpusPerNode` itself. GPU models carry
the accelerator names the capacity planner uses (`A10G`, `L40S`, `A100-40GB`, ...), so a GPU can be named
either way: `llmscale size --gpu L40S` and `llmscale new --gpu L40S` mean `g6e.xlarge`, the smallest
instance of that GPU (`default_instance_type`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInstanceType:
    """One EC2 GPU instance type: what a node of this type offers to vLLM."""

    name: str
    gpus: int
    gpu_model: str
    gpu_memory_gib: int
    vcpus: int
    memory_gib: int

    @property
    def family(self) -> str:
        """The instance family (`g6e` for `g6e.xlarge`), which decides the vCPU quota it counts against."""
        return self.name.split(".", 1)[0]


def _family(
    prefix: str, gpu_model: str, gpu_memory_gib: int, sizes: list[tuple[str, int, int, int]]
) -> dict[str, GpuInstanceType]:
    return {
        f"{prefix}.{size}": GpuInstanceType(f"{prefix}.{size}", gpus, gpu_model, gpu_memory_gib, vcpus, mem)
        for size, gpus, vcpus, mem in sizes
    }


# Sizes: (size, GPUs, vCPUs, memory GiB), from the EC2 instance type pages of each family.
INSTANCE_TYPES: dict[str, GpuInstanceType] = {
    **_family(
        "g4dn",
        "T4",
        16,
        [
            ("xlarge", 1, 4, 16),
            ("2xlarge", 1, 8, 32),
            ("4xlarge", 1, 16, 64),
            ("8xlarge", 1, 32, 128),
            ("16xlarge", 1, 64, 256),
            ("12xlarge", 4, 48, 192),
            ("metal", 8, 96, 384),
        ],
    ),
    **_family(
        "g5",
        "A10G",
        24,
        [
            ("xlarge", 1, 4, 16),
            ("2xlarge", 1, 8, 32),
            ("4xlarge", 1, 16, 64),
            ("8xlarge", 1, 32, 128),
            ("16xlarge", 1, 64, 256),
            ("12xlarge", 4, 48, 192),
            ("24xlarge", 4, 96, 384),
            ("48xlarge", 8, 192, 768),
        ],
    ),
    **_family(
        "g6",
        "L4",
        24,
        [
            ("xlarge", 1, 4, 16),
            ("2xlarge", 1, 8, 32),
            ("4xlarge", 1, 16, 64),
            ("8xlarge", 1, 32, 128),
            ("16xlarge", 1, 64, 256),
            ("12xlarge", 4, 48, 192),
            ("24xlarge", 4, 96, 384),
            ("48xlarge", 8, 192, 768),
        ],
    ),
    **_family(
        "g6e",
        "L40S",
        48,
        [
            ("xlarge", 1, 4, 32),
            ("2xlarge", 1, 8, 64),
            ("4xlarge", 1, 16, 128),
            ("8xlarge", 1, 32, 256),
            ("16xlarge", 1, 64, 512),
            ("12xlarge", 4, 48, 384),
            ("24xlarge", 4, 96, 768),
            ("48xlarge", 8, 192, 1536),
        ],
    ),
    **_family("p4d", "A100-40GB", 40, [("24xlarge", 8, 96, 1152)]),
    **_family("p4de", "A100-80GB", 80, [("24xlarge", 8, 96, 1152)]),
    **_family("p5", "H100", 80, [("48xlarge", 8, 192, 2048)]),
    **_family("p5en", "H200", 141, [("48xlarge", 8, 192, 2048)]),
    **_family("p6-b200", "B200", 179, [("48xlarge", 8, 192, 2048)]),
}


def lookup(instance_type: str) -> GpuInstanceType | None:
    """The catalogue entry for an instance type, or None when llmscale does not know it."""
    return INSTANCE_TYPES.get(instance_type)


ACCELERATORS: tuple[str, ...] = tuple(dict.fromkeys(t.gpu_model for t in INSTANCE_TYPES.values()))
_ACCELERATOR_ALIASES = {
    **{name.lower(): name for name in ACCELERATORS},
    "a100-40": "A100-40GB",
    "a100-80": "A100-80GB",
    "h100-80gb": "H100",
    "h100-sxm": "H100",
}


def accelerator(name: str) -> str | None:
    """The accelerator a GPU name means (`l40s` → `L40S`, `A100-80` → `A100-80GB`), or None."""
    return _ACCELERATOR_ALIASES.get(name.strip().lower())


def default_instance_type(accelerator_name: str, size: str | None = None) -> str | None:
    """The EC2 type that stands for an accelerator: its instance of `size` (say `2xlarge`) if the family has
    one, else its smallest instance (fewest GPUs, then fewest vCPUs). None for an unknown accelerator."""
    name = accelerator(accelerator_name)
    if name is None:
        return None
    candidates = [t for t in INSTANCE_TYPES.values() if t.gpu_model == name]
    if size is not None:
        for candidate in candidates:
            if candidate.name.split(".", 1)[1] == size and candidate.gpus == 1:
                return candidate.name
    return min(candidates, key=lambda t: (t.gpus, t.vcpus)).name


def instance_type_for(gpu: str, size: str | None = None) -> str | None:
    """The catalogued EC2 type a GPU name means: itself when it is one, else the accelerator's default."""
    if lookup(gpu) is not None:
        return gpu
    return default_instance_type(gpu, size)
