"""GPU instance types llmscale knows: GPUs, GPU model and memory, vCPUs and host memory per instance.

Sizing, validation and the single host's disk and shared-memory settings read this table; an instance type
that is not listed can still be used when the stack states `llmscale:gpu.gpusPerNode` itself.
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
    **_family("p4d", "A100", 40, [("24xlarge", 8, 96, 1152)]),
    **_family("p4de", "A100", 80, [("24xlarge", 8, 96, 1152)]),
    **_family("p5", "H100", 80, [("48xlarge", 8, 192, 2048)]),
}


def lookup(instance_type: str) -> GpuInstanceType | None:
    """The catalogue entry for an instance type, or None when llmscale does not know it."""
    return INSTANCE_TYPES.get(instance_type)
