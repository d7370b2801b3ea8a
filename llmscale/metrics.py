"""Metric names of the pinned exporters (vLLM v0.33, dcgm-exporter 4.x), kept in one versioned place.

vLLM has renamed metrics between releases; alerts, dashboards and autoscaling read the names from here.
"""

from __future__ import annotations

VLLM_QUEUE_DEPTH = "vllm:num_requests_waiting"
VLLM_RUNNING = "vllm:num_requests_running"
VLLM_KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"
VLLM_E2E_LATENCY = "vllm:e2e_request_latency_seconds"
VLLM_TTFT = "vllm:time_to_first_token_seconds"
VLLM_REQUEST_SUCCESS = "vllm:request_success_total"
VLLM_GENERATION_TOKENS = "vllm:generation_tokens_total"
VLLM_ADMISSION_REJECTIONS = "vllm:admission_rejections_total"

DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED = "DCGM_FI_DEV_FB_USED"
DCGM_XID_ERRORS = "DCGM_FI_DEV_XID_ERRORS"
