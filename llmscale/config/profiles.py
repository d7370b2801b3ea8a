"""The model profiles of `llmscale:models`: one vLLM server each, and its canary."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from llmscale.config.adapters import AdapterConfig
from llmscale.config.base import (
    CLI_ARG,
    CLUSTER_TIERS,
    DNS_LABEL,
    IMAGE_REF,
    MODEL_ID,
    ConfigModel,
    scope,
)
from llmscale.config.credentials import extra_args_problem


class Lane(StrEnum):
    """Traffic lane of a model profile: interactive traffic is scheduled above batch traffic."""

    INTERACTIVE = "interactive"
    BATCH = "batch"


class Quantization(StrEnum):
    """Weight quantization schemes passed to vLLM's `--quantization`."""

    AWQ = "awq"
    GPTQ = "gptq"
    FP8 = "fp8"
    BITSANDBYTES = "bitsandbytes"
    COMPRESSED_TENSORS = "compressed-tensors"


PositiveInt = Annotated[int, Field(ge=1)]


def _pinned(image: str | None) -> str | None:
    if image is None:
        return image
    tag = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
        raise ValueError("must be pinned to a version tag or digest (for example vllm/vllm-openai:v0.33.0)")
    return image


class CanaryConfig(ConfigModel):
    """A second version of a profile that takes a share of its traffic (a new image or model)."""

    image: Annotated[
        str | None,
        Field(
            pattern=IMAGE_REF,
            description="The canary's vLLM image, pinned to a version tag or digest; none: the profile's image. "
            "A canary sets image, model or both.",
        ),
    ] = None
    model: Annotated[
        str | None,
        Field(
            min_length=1,
            pattern=MODEL_ID,
            description="The model the canary serves (written as the profile's `model`); none: the profile's model.",
        ),
    ] = None
    weight: Annotated[
        int,
        Field(
            ge=1,
            le=50,
            description="Percent of the profile's requests routed to the canary (a weighted backend of the profile's "
            "route); the rest go to the stable replicas.",
        ),
    ] = 10
    replicas: Annotated[
        int,
        Field(
            ge=1,
            le=10,
            description="Replicas of the canary, on top of the profile's own; they count in the GPU maximum, the "
            "node pool bounds and the monthly cost.",
        ),
    ] = 1

    _image_is_pinned = field_validator("image")(_pinned)

    @model_validator(mode="after")
    def _changes_something(self) -> CanaryConfig:
        if self.image is None and self.model is None:
            raise ValueError("image: a canary needs a new image or model (set image or model)")
        return self


class ModelProfile(ConfigModel):
    """One served model: the unit that gets its own vLLM server, scaling, route and alerts."""

    name: Annotated[
        str,
        Field(
            pattern=DNS_LABEL,
            description="The profile's name: the model name clients send, the path prefix of its route "
            "(`/<name>/v1`), and the name of its Deployment, Service, autoscaler and alerts (`model_name` label).",
        ),
    ]
    model: Annotated[
        str,
        Field(
            min_length=1,
            pattern=MODEL_ID,
            description="What vLLM serves: a Hugging Face id (`org/name`), an `s3://bucket/prefix/` URI, or "
            "`store://org/name/` for a path in the stack's own model store (multi-gpu and enterprise on platform "
            "aws; each region reads its own replica). The capacity planner reads the size from the name (`8B`).",
        ),
    ]
    lane: Lane = Field(
        default=Lane.INTERACTIVE,
        description="Traffic lane: interactive replicas get a higher priority class than batch replicas, so under "
        "GPU pressure the scheduler keeps interactive traffic served; the planner sizes the interactive profiles.",
    )
    gpus_per_replica: Annotated[
        int,
        Field(
            ge=1,
            le=8,
            description="GPUs of one vLLM replica (its tensor-parallel size); a replica stays on one node, so it "
            "must fit the node's GPUs.",
        ),
    ] = 1
    min_replicas: Annotated[
        int,
        Field(
            ge=0,
            le=100,
            description="Replicas kept during active hours (the autoscaler's cron floor); outside them the floor is "
            "`schedule.offHoursMinReplicas`.",
        ),
    ] = 1
    max_replicas: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            description="Replicas the autoscaler may add at peak; with the GPUs per replica it bounds the GPU node "
            "pool and the monthly cost. At least minReplicas; 1 on the single-gpu tier.",
        ),
    ] = 1
    max_model_len: Annotated[
        int,
        Field(
            ge=256,
            le=1_048_576,
            description="Longest context, in tokens (prompt plus answer), vLLM accepts (`--max-model-len`); at "
            "least `load.promptTokens + load.outputTokens`. Longer contexts take KV-cache memory.",
        ),
    ] = 8192
    max_num_seqs: Annotated[
        int,
        Field(
            ge=1,
            le=4096,
            description="Requests one replica runs at once (vLLM's `--max-num-seqs`, its batch limit); more "
            "throughput, slower streams.",
        ),
    ] = 64
    max_num_queued_reqs: Annotated[
        int | None,
        Field(
            ge=1,
            le=100_000,
            description="Requests one replica admits in flight, running plus waiting, before it answers HTTP 503 "
            "(vLLM's `--max-num-queued-reqs`): backpressure instead of an unbounded queue. None: 3 × maxNumSeqs.",
        ),
    ] = None
    gpu_memory_utilization: Annotated[
        float,
        Field(
            gt=0.1,
            le=0.98,
            description="Fraction of each GPU's memory vLLM may use for weights and KV cache "
            "(`--gpu-memory-utilization`); the rest is left for the CUDA context and other processes.",
        ),
    ] = 0.90
    quantization: Quantization | None = Field(
        default=None,
        description="The quantization of the model's weights, passed to vLLM's `--quantization`; none: as the "
        "checkpoint says (BF16/FP16 for the planner).",
    )
    image: Annotated[
        str | None,
        Field(
            pattern=IMAGE_REF,
            description="The vLLM image, pinned to a version tag or digest (`latest` is refused); none: the image "
            "llmscale pins in llmscale/versions.py, whose metric names the alerts and dashboards use.",
        ),
    ] = None
    extra_args: list[Annotated[str, Field(pattern=CLI_ARG)]] = Field(
        default=[],
        description="Further vLLM flags, after the ones llmscale sets from the profile's keys (those may not be "
        "repeated here). Credentials are refused: use the secret settings.",
    )
    queue_depth_target: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Requests waiting per replica that the autoscaler aims for (KEDA's Prometheus trigger on "
            "`vllm:num_requests_waiting`): above it, replicas are added.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = 5
    in_flight_target: Annotated[
        int | None,
        Field(
            ge=1,
            le=4096,
            description="Requests in flight (running plus waiting) per replica that the autoscaler aims for: "
            "above it, replicas are added before any queue forms. Set it to what one replica carries within the "
            "SLO, which `llmscale size` prints (`inFlightTarget`) and the in-flight-target policy checks; none: "
            "maxNumSeqs, full batches, whatever they do to latency. At most maxNumSeqs.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = None
    request_timeout_seconds: Annotated[
        int,
        Field(
            ge=30,
            le=7200,
            description="Longest request, in seconds, the gateway lets run (Envoy's 15 s default would cut long "
            "generations off); also how long a stopping vLLM drains requests in flight (`--shutdown-timeout`).",
        ),
    ] = 600
    cpu: Annotated[
        float | None,
        Field(
            gt=0,
            le=256,
            description="CPU cores requested per replica (no CPU limit: throttling costs latency); none: the "
            "replica's share of the GPU node's vCPUs, less room for the node's daemons.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = None
    memory_gi: Annotated[
        int | None,
        Field(
            ge=4,
            le=4096,
            description="Memory per replica in GiB, requested and limit; none: the replica's share of the GPU "
            "node's memory, less room for the node's daemons.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = None
    canary: CanaryConfig | None = Field(
        default=None,
        description="A canary: a new image or model that takes a share of the profile's traffic; none by default.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    adapters: list[AdapterConfig] = Field(
        default=[],
        description="LoRA adapters served by the profile's replicas beside the base model (llmscale/config/"
        "adapters.py); a client selects one by its name in the OpenAI `model` field. None by default.",
    )

    _image_is_pinned = field_validator("image")(_pinned)

    @field_validator("extra_args")
    @classmethod
    def _no_credentials(cls, args: list[str]) -> list[str]:
        """Credentials never ride on the vLLM command line: it shows in plan output, manifests and user data."""
        problem = extra_args_problem(args)
        if problem is not None:
            raise ValueError(problem)
        return args

    @model_validator(mode="after")
    def _replica_bounds(self) -> ModelProfile:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"maxReplicas: must be >= minReplicas ({self.min_replicas}), got {self.max_replicas}")
        if self.max_num_queued_reqs is not None and self.max_num_queued_reqs < self.max_num_seqs:
            raise ValueError(
                f"maxNumQueuedReqs: counts running and waiting requests, so it must be >= maxNumSeqs "
                f"({self.max_num_seqs})"
            )
        if self.in_flight_target is not None and self.in_flight_target > self.max_num_seqs:
            raise ValueError(
                f"inFlightTarget: a replica runs at most maxNumSeqs ({self.max_num_seqs}) at once; set at most "
                "that (the queue-depth target covers waiting requests)"
            )
        return self

    @property
    def in_flight_threshold(self) -> int:
        """Requests in flight per replica at which the autoscaler adds replicas: `inFlightTarget`, else a full
        batch (`maxNumSeqs`)."""
        return self.in_flight_target if self.in_flight_target is not None else self.max_num_seqs

    @property
    def queue_limit(self) -> int:
        """Requests vLLM admits in flight (running or waiting) before answering 503.

        As stated, or the running batch plus a queue twice its size: enough to keep the GPU busy, short
        enough that a client retrying elsewhere beats waiting here.
        """
        return self.max_num_queued_reqs if self.max_num_queued_reqs is not None else 3 * self.max_num_seqs
