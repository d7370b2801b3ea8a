"""Calibration files: `vllm bench serve --save-result` results that replace the built-in figures.

A file holds one result (JSON), or a list of them (YAML/JSON, or a mapping with `points:`). `llmscale loadtest`
renders the runs that write such results with the metadata this reader needs.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from llmscale.config.models import Quantization
from llmscale.sizing.gpus import CalibrationError, resolve_gpu
from llmscale.sizing.measurements import CalibrationPoint
from llmscale.sizing.model_size import parameters_billions

_NONE_QUANT = {"", "none", "bf16", "fp16", "float16", "bfloat16", "auto"}


def parse_quantization(value: str | None) -> Quantization | None:
    """A quantization name as users write it; none/bf16/fp16 (or nothing) mean unquantized 16-bit weights."""
    if value is None or value.strip().lower() in _NONE_QUANT:
        return None
    try:
        return Quantization(value.strip().lower())
    except ValueError:
        allowed = ", ".join(["none", *(q.value for q in Quantization)])
        raise CalibrationError(f"quantization {value}: unknown; use one of {allowed}") from None


def load_calibration(path: Path) -> tuple[CalibrationPoint, ...]:
    """The points of a calibration file: one `vllm bench serve --save-result` JSON, or a list of them.

    YAML or JSON; a list at the top, or a mapping with `points:`, or one result; or a directory of such files.
    A `replicas` field (the replicas a gateway spread the run over) turns the run into one replica's point.
    Each result needs `model_id` (or `model`), `gpu`, `max_concurrency` and `output_throughput` (tok/s);
    `tensor_parallel_size` (or `tp`, default 1), `quantization` (default none), `mean_tpot_ms` and
    `p99_e2el_ms` are used when present.
    vLLM writes everything but `gpu`, `tensor_parallel_size`, `quantization` and `kv_cache_dtype`: add them with
    `--metadata gpu=L40S tensor_parallel_size=1 quantization=none kv_cache_dtype=auto`. The mean prompt and
    answer lengths (`total_input_tokens`, `total_output_tokens` over `completed`) and `mean_ttft_ms` are read
    too, so the fit can take the prompts' prefill out of the measured decode speed.
    """
    if path.is_dir():
        files = sorted(f for f in path.iterdir() if f.suffix.lower() in (".json", ".yaml", ".yml"))
        if not files:
            raise CalibrationError(f"{path}: a directory without .json or .yaml benchmark results")
        return tuple(point for file in files for point in load_calibration(file))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CalibrationError(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise CalibrationError(f"{path}: cannot read (not UTF-8 text: a JSON or YAML file is expected)") from None
    try:
        document = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError):
        raise CalibrationError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}") from None
    if isinstance(document, dict) and "points" in document:
        document = document["points"]
    records = document if isinstance(document, list) else [document]
    if not records:
        raise CalibrationError(f"{path}: holds no benchmark results")
    return tuple(_point(record, f"{path}[{index}]", str(path)) for index, record in enumerate(records))


def _point(record: object, where: str, source: str) -> CalibrationPoint:
    if not isinstance(record, dict):
        raise CalibrationError(f"{where}: is not a mapping of `vllm bench serve` result fields")
    model = record.get("model_id") or record.get("model")
    if not isinstance(model, str) or not model:
        raise CalibrationError(f"{where}: model_id is missing (vLLM writes it; or set model)")
    params = parameters_billions(model)
    if params is None:
        params = _number(record, "params_billions", where, required=False)
        if params is None:
            raise CalibrationError(f"{where}: cannot tell the size of {model} from its name; add params_billions: 8")
    gpu_name = record.get("gpu")
    if not isinstance(gpu_name, str):
        raise CalibrationError(f"{where}: gpu is missing; run vllm bench serve with --metadata gpu=L40S")
    gpu, _ = resolve_gpu(gpu_name)
    concurrency = _number(record, "max_concurrency", where)
    if concurrency is None or concurrency < 1 or concurrency != int(concurrency):
        raise CalibrationError(f"{where}: max_concurrency must be a whole number >= 1 (run with --max-concurrency N)")
    throughput = _number(record, "output_throughput", where)
    if throughput is None or throughput <= 0:
        raise CalibrationError(f"{where}: output_throughput must be a positive number of tokens/s")
    tp = _number(record, "tensor_parallel_size", where, required=False) or _number(record, "tp", where, required=False)
    tp = 1 if tp is None else tp
    if tp not in (1, 2, 4, 8):
        raise CalibrationError(f"{where}: tensor_parallel_size must be 1, 2, 4 or 8")
    replicas = _number(record, "replicas", where, required=False) or 1.0
    if replicas < 1 or replicas != int(replicas):
        raise CalibrationError(
            f"{where}: replicas must be a whole number >= 1 (the replicas the gateway spread it over)"
        )
    if concurrency % replicas:
        raise CalibrationError(f"{where}: max_concurrency must be a multiple of replicas ({replicas:g})")
    concurrency, throughput = concurrency / replicas, throughput / replicas
    quant = record.get("quantization")
    tpot = _number(record, "mean_tpot_ms", where, required=False)
    ttft = _number(record, "mean_ttft_ms", where, required=False)
    return CalibrationPoint(
        model=model,
        params_billions=params,
        quantization=parse_quantization(quant if isinstance(quant, str) else None),
        gpu=gpu.name,
        tensor_parallel=int(tp),
        concurrency=int(concurrency),
        output_tokens_per_second=float(throughput),
        engine=str(record.get("backend") or record.get("endpoint_type") or "vllm bench serve"),
        workload=_workload(record),
        source=source,
        tpot_ms=tpot if tpot and tpot > 0 else None,
        p99_e2el_ms=_number(record, "p99_e2el_ms", where, required=False),
        prompt_tokens=_mean_tokens(record, "total_input_tokens"),
        output_tokens=_mean_tokens(record, "total_output_tokens"),
        ttft_ms=ttft if ttft and ttft > 0 else None,
        kv_cache_fp8=str(record.get("kv_cache_dtype") or "auto").lower().startswith("fp8"),
    )


def _number(record: dict, key: str, where: str, required: bool = True) -> float | None:
    value = record.get(key)
    if value is None:
        if required:
            raise CalibrationError(f"{where}: {key} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CalibrationError(f"{where}: {key} must be a number")
    try:
        return float(value)
    except ValueError:
        raise CalibrationError(f"{where}: {key} must be a number") from None


def _mean_tokens(record: dict, key: str) -> int | None:
    completed, total = record.get("completed"), record.get(key)
    if isinstance(completed, int) and completed > 0 and isinstance(total, int) and total >= 0:
        return max(1, total // completed)
    return None


def _workload(record: dict) -> str:
    completed = record.get("completed")
    inputs, outputs = record.get("total_input_tokens"), record.get("total_output_tokens")
    if isinstance(completed, int) and completed > 0 and isinstance(inputs, int) and isinstance(outputs, int):
        return f"{inputs // completed} in / {outputs // completed} out"
    return "your workload"
