"""What `llmscale loadtest` renders: a `vllm bench serve` concurrency sweep per model profile, through the
stack's own gateway with a key from its own secrets, whose results `llmscale size --calibration` reads back.

Per tier: multi-gpu and enterprise get one Kubernetes Job per profile (in the stack's namespace, the API key
from the gateway's Secret through `secretKeyRef`, never a literal); single-gpu gets a script for the host that
reads the key from the host's secrets file. Both run the pinned vLLM image's own benchmark client.

`vllm bench serve` flags as in vLLM 0.33 (`vllm/benchmarks/serve.py`, `vllm/benchmarks/datasets/datasets.py`):
`--base-url` + `--endpoint` (default `/v1/completions`) form the request URL; the key goes in
`Authorization: Bearer` from `OPENAI_API_KEY` (`vllm/benchmarks/lib/endpoint_request_func.py`); `--model`
names the tokenizer and `--served-model-name` the model sent; `--dataset-name random` with
`--random-input-len`/`--random-output-len`/`--random-range-ratio` and `--ignore-eos` give the stack's token
lengths; `--max-concurrency` sets each level; `--metadata KEY=VALUE` is copied into the result JSON, which
`--save-result --result-dir --result-filename` writes; `--ready-check-timeout-sec` waits for the endpoint.

Results leave the Job on its log: each result is printed as one line `LLMSCALE_RESULT <json>`, so
`kubectl logs` + `sed` turns them into a YAML list the calibration reader takes (docs/sizing.md).
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any

from llmscale.config.models import StackConfig, Tier
from llmscale.k8s.gateway import API_KEYS_SECRET, path_prefix
from llmscale.sizing.gpus import resolve_gpu
from llmscale.sizing.inputs import SizingError
from llmscale.sizing.planner import size_for_stack
from llmscale.versions import VLLM_IMAGE

RESULT_MARKER = "LLMSCALE_RESULT"
RESULT_DIR = "/results"
HF_TOKEN_SECRET = "hf-token"  # the Secret the vLLM pods read their Hugging Face token from (key `token`)
MAX_LEVELS = 8
PROMPTS_PER_STREAM = 10  # prompts per concurrency level: ten per stream, at least 32
RUNNER_UID = 10001


class LoadTestError(ValueError):
    """A stack or option the load test cannot be rendered for; one line naming what to fix."""


@dataclass(frozen=True)
class Sweep:
    """One profile's benchmark: where it sends requests, with what lengths, at which concurrencies."""

    profile: str
    tokenizer: str
    base_url: str
    prompt_tokens: int
    output_tokens: int
    range_ratio: float
    concurrencies: tuple[int, ...]
    metadata: dict[str, str]


def sweep_levels(peak_in_flight: float, replicas: int) -> tuple[int, ...]:
    """Concurrency levels through the gateway: replicas × (1, 2, 4, …) up to twice the sized peak in flight per
    replica (the 99th percentile the planner found), at most eight levels, so the sweep brackets the knee."""
    top = max(2.0, 2 * peak_in_flight)
    levels = [replicas * 2**i for i in range(MAX_LEVELS) if 2**i <= 2 ** math.ceil(math.log2(top))]
    return tuple(levels[:MAX_LEVELS])


def sweeps(config: StackConfig, base_url: str, client: str, range_ratio: float = 0.0) -> list[Sweep]:
    """One sweep per model profile of the stack, sized from its own load and SLO.

    Through the Kubernetes gateway a profile's OpenAI base is `<url>/<profile>/v1`; the single host's Caddy
    serves its one profile at `<url>/v1`.
    """
    gpu, _ = resolve_gpu(config.gpu.instance_type)
    host = is_host_tier(config)
    out = []
    for profile in config.models:
        if profile.model.startswith("s3://"):
            raise LoadTestError(
                f"profile {profile.name}: its model is loaded from {profile.model}; the benchmark needs a Hugging "
                "Face tokenizer id: serve a Hugging Face model id or benchmark that profile by hand"
            )
        try:
            sized = size_for_stack(config, profile=profile)
            peak = sized.requests_per_replica + 2.33 * math.sqrt(sized.requests_per_replica)
        except SizingError:
            peak = profile.max_num_seqs / 2
        replicas = max(1, profile.min_replicas)
        metadata = {
            "gpu": gpu.name,
            "tensor_parallel_size": str(profile.gpus_per_replica),
            "quantization": profile.quantization.value if profile.quantization else "none",
            "kv_cache_dtype": "auto",
            "replicas": str(replicas),
            "llmscale_profile": profile.name,
            "llmscale_client": client,
        }
        out.append(
            Sweep(
                profile=profile.name,
                tokenizer=profile.model,
                base_url=base_url.rstrip("/") + ("" if host else path_prefix(profile).removesuffix("/v1")),
                prompt_tokens=config.load.prompt_tokens,
                output_tokens=config.load.output_tokens,
                range_ratio=range_ratio,
                concurrencies=sweep_levels(min(peak, profile.max_num_seqs), replicas),
                metadata=metadata,
            )
        )
    return out


def bench_args(sweep: Sweep, concurrency: int, insecure: bool = False) -> list[str]:
    """The `vllm bench serve` arguments of one level (without the `vllm bench serve` itself)."""
    args = [
        "--backend", "openai",
        "--base-url", sweep.base_url,
        "--endpoint", "/v1/completions",
        "--model", sweep.tokenizer,
        "--served-model-name", sweep.profile,
        "--dataset-name", "random",
        "--random-input-len", str(sweep.prompt_tokens),
        "--random-output-len", str(sweep.output_tokens),
        "--random-range-ratio", f"{sweep.range_ratio:g}",
        "--ignore-eos",
        "--max-concurrency", str(concurrency),
        "--num-prompts", str(max(32, PROMPTS_PER_STREAM * concurrency)),
        "--request-rate", "inf",
        "--percentile-metrics", "ttft,tpot,itl,e2el",
        "--metric-percentiles", "50,95,99",
        "--ready-check-timeout-sec", "600",
        "--save-result",
        "--result-dir", RESULT_DIR,
        "--result-filename", f"{sweep.profile}-c{concurrency}.json",
        "--metadata", *(f"{key}={value}" for key, value in sweep.metadata.items()),
    ]  # fmt: skip
    if insecure:
        args.append("--insecure")
    return args


def sweep_script(sweep: Sweep, insecure: bool = False, runner: str = "vllm") -> str:
    """POSIX shell that runs every level in turn and prints each result as one `LLMSCALE_RESULT <json>` line."""
    lines = ["set -eu", f"mkdir -p {RESULT_DIR}"]
    for concurrency in sweep.concurrencies:
        lines.append(f"{runner} bench serve {shlex.join(bench_args(sweep, concurrency, insecure))}")
        lines.append(
            f'printf "{RESULT_MARKER} %s\\n" "$(tr -d "\\n" < {RESULT_DIR}/{sweep.profile}-c{concurrency}.json)"'
        )
    return "\n".join(lines) + "\n"


def job_manifest(config: StackConfig, sweep: Sweep, client: str) -> dict[str, Any]:
    """The Kubernetes Job of one profile's sweep: the pinned vLLM image, the key through secretKeyRef."""
    env: list[dict[str, Any]] = [
        {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": API_KEYS_SECRET, "key": client}}},
        {"name": "HOME", "value": "/tmp"},
        {"name": "HF_HOME", "value": "/tmp/huggingface"},
    ]
    if config.hf_token is not None:
        env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": HF_TOKEN_SECRET, "key": "token"}}})
    labels = {"app.kubernetes.io/part-of": "llmscale", "app.kubernetes.io/component": "loadtest"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"loadtest-{sweep.profile}", "namespace": config.kubernetes.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUNNER_UID,
                        "runAsGroup": RUNNER_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "bench",
                            "image": VLLM_IMAGE,
                            "command": ["/bin/sh", "-c", sweep_script(sweep)],
                            "env": env,
                            "resources": {
                                "requests": {"cpu": "2", "memory": "4Gi"},
                                "limits": {"memory": "8Gi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "tmp", "mountPath": "/tmp"},
                                {"name": "results", "mountPath": RESULT_DIR},
                            ],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "results", "emptyDir": {}}],
                },
            },
        },
    }


def host_script(stack: str, sweeps_: list[Sweep], client: str, secrets_dir: str) -> str:
    """The single host's script: the key read from the host's secrets file into the environment (never printed),
    the benchmark client from the pinned vLLM image on the host network, Caddy's certificate not verified
    (the script talks to the host itself by address)."""
    picker = (
        "import json,sys; raw=open(sys.argv[1]).read().strip()\n"
        "try: keys=json.loads(raw)\n"
        "except ValueError: keys={'default': raw}\n"
        "keys=keys if isinstance(keys, dict) else {'default': raw}\n"
        "sys.stdout.write(keys[sys.argv[2]])"
    )
    runner = (
        f'docker run --rm --network host -e OPENAI_API_KEY -v "$RESULTS:{RESULT_DIR}" --entrypoint vllm {VLLM_IMAGE}'
    )
    head = [
        "#!/bin/sh",
        f"# llmscale load test of stack {stack}: vllm bench serve through the host's own gateway (Caddy).",
        "# Writes results/<profile>-c<N>.json: `llmscale size --calibration results` (and new) read them.",
        "set -eu",
        'RESULTS="$(pwd)/results"',
        'mkdir -p "$RESULTS"',
        f'OPENAI_API_KEY="$(python3 -c {shlex.quote(picker)} {secrets_dir}/api-keys {shlex.quote(client)})"',
        "export OPENAI_API_KEY",
    ]
    body = []
    for sweep in sweeps_:
        for concurrency in sweep.concurrencies:
            body.append(f"{runner} bench serve {shlex.join(bench_args(sweep, concurrency, insecure=True))}")
    return "\n".join([*head, *body]) + "\n"


def is_host_tier(config: StackConfig) -> bool:
    """True for the single-gpu tier, whose load test is a host script rather than Jobs."""
    return config.tier is Tier.SINGLE_GPU
