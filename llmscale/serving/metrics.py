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
DCGM_FB_FREE = "DCGM_FI_DEV_FB_FREE"
VLLM_PROMPT_TOKENS = "vllm:prompt_tokens_total"

# kube-state-metrics series the Kubernetes rules and dashboards read.
KSM_AVAILABLE_REPLICAS = "kube_deployment_status_replicas_available"
KSM_SPEC_REPLICAS = "kube_deployment_spec_replicas"
KSM_HPA_MIN = "kube_horizontalpodautoscaler_spec_min_replicas"
KSM_HPA_MAX = "kube_horizontalpodautoscaler_spec_max_replicas"

# Every metric the pinned exporters expose that llmscale reads: dashboards may reference only these
# (and llmscale's own recording rules).
EXPORTED = frozenset(
    {
        VLLM_QUEUE_DEPTH,
        VLLM_RUNNING,
        VLLM_KV_CACHE_USAGE,
        f"{VLLM_E2E_LATENCY}_bucket",
        f"{VLLM_TTFT}_bucket",
        VLLM_REQUEST_SUCCESS,
        VLLM_GENERATION_TOKENS,
        VLLM_PROMPT_TOKENS,
        VLLM_ADMISSION_REJECTIONS,
        DCGM_GPU_UTIL,
        DCGM_FB_USED,
        DCGM_FB_FREE,
        DCGM_XID_ERRORS,
        KSM_AVAILABLE_REPLICAS,
        KSM_SPEC_REPLICAS,
        KSM_HPA_MIN,
        KSM_HPA_MAX,
        "up",
    }
)
