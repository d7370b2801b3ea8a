"""How well llmscale tells credentials from the strings a stack really holds, and how fast on hostile input.

Prints three tables:
- false positives over well-known model ids, image references, paths and vLLM flags (should be none);
- the share of generated credentials caught, per generator (random key material without a known prefix is
  caught by its look; hex digests and UUIDs are deliberately not, as model revisions and ids look the same);
- seconds per MiB for strings crafted to make a backtracking pattern quadratic.

Usage: python benchmarks/credential_detection.py [--samples N]
"""

from __future__ import annotations

import argparse
import base64
import secrets
import string
import time
import uuid
from collections.abc import Callable

from llmscale.config.credentials import extra_args_credentials, looks_like_credential

REAL_STRINGS = [
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Meta-Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct",
    "Qwen/Qwen2.5-7B-Instruct-AWQ",
    "Qwen/Qwen2.5-72B-Instruct-GPTQ-Int4",
    "Qwen/Qwen2.5-Coder-32B-Instruct",
    "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
    "Qwen/Qwen2-VL-72B-Instruct",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mistralai/Mistral-Large-Instruct-2411",
    "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
    "deepseek-ai/DeepSeek-V3",
    "deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct",
    "google/gemma-2-27b-it",
    "google/gemma-3-27b-it",
    "microsoft/Phi-3-mini-4k-instruct",
    "microsoft/Phi-3.5-MoE-instruct",
    "nvidia/Llama-3.1-Nemotron-70B-Instruct-HF",
    "nvidia/Llama-3_1-Nemotron-Ultra-253B-v1",
    "TheBloke/Mistral-7B-Instruct-v0.2-AWQ",
    "TheBloke/Llama-2-13B-chat-GPTQ",
    "neuralmagic/Meta-Llama-3.1-8B-Instruct-FP8",
    "RedHatAI/Llama-3.3-70B-Instruct-quantized.w8a8",
    "ibm-granite/granite-3.1-8b-instruct",
    "01-ai/Yi-1.5-34B-Chat",
    "tiiuae/falcon-40b-instruct",
    "bigcode/starcoder2-15b",
    "codellama/CodeLlama-34b-Instruct-hf",
    "HuggingFaceH4/zephyr-7b-beta",
    "HuggingFaceTB/SmolLM2-1.7B-Instruct",
    "NousResearch/Hermes-3-Llama-3.1-70B",
    "openai/gpt-oss-120b",
    "allenai/OLMo-2-1124-13B-Instruct",
    "CohereForAI/c4ai-command-r-plus-08-2024",
    "Salesforce/SFR-Embedding-Mistral",
    "BAAI/bge-large-en-v1.5",
    "intfloat/multilingual-e5-large-instruct",
    "sentence-transformers/all-MiniLM-L6-v2",
    "EleutherAI/gpt-neox-20b",
    "stabilityai/stablelm-2-zephyr-1_6b",
    "Snowflake/snowflake-arctic-embed-m-v2.0",
    "unsloth/Meta-Llama-3.1-8B-Instruct-bnb-4bit",
    "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
    "MaziyarPanahi/Llama-3-8B-Instruct-32k-v0.1",
    "s3://acme-models/meta-llama/Llama-3.1-8B-Instruct/",
    "/models/models--meta-llama--Llama-3.1-8B-Instruct/snapshots/0e9e39f249a16976918f6564b8830bc894c89659",
    "vllm/vllm-openai:v0.33.0",
    "vllm/vllm-openai@sha256:" + "1e2f3c4d5b6a7988" * 4,
    "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/vllm-openai:v0.33.0",
    "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
    "https://runbooks.example.com/llmscale/LlmscaleQueueDepthHigh",
    "docs/runbook.md",
]
REAL_ARGS = [
    "--enable-chunked-prefill",
    "--kv-cache-dtype=fp8",
    "--revision=0e9e39f249a16976918f6564b8830bc894c89659",
    '--speculative-config={"model": "meta-llama/Llama-3.2-1B-Instruct", "num_speculative_tokens": 5}',
    '--override-generation-config={"temperature": 0.6, "top_p": 0.9}',
    "--long-prefill-token-threshold=2048",
    "--max-num-batched-tokens",
    "8192",
    "--tokenizer=meta-llama/Llama-3.1-8B-Instruct",
    "--ssl-keyfile=/etc/tls/tls.key",
    "--otlp-traces-endpoint=http://otel-collector.observability.svc:4317",
]


def _alnum(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


GENERATORS: dict[str, Callable[[], str]] = {
    "Hugging Face token (hf_ + 34)": lambda: "hf_" + "".join(secrets.choice(string.ascii_letters) for _ in range(34)),
    "OpenAI key (sk-proj-…)": lambda: "sk-proj-" + secrets.token_urlsafe(48),
    "AWS access key id (AKIA…)": lambda: "AKIA" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(16)),
    "GitHub token (ghp_…)": lambda: "ghp_" + _alnum(36),
    "openssl rand -base64 32": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
    "secrets.token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
    "secrets.token_urlsafe(24)": lambda: secrets.token_urlsafe(24),
    "AWS secret access key (40)": lambda: "".join(
        secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(40)
    ),
    "alphanumeric, 24": lambda: _alnum(24),
    "hex, 64 (not detected by design)": lambda: secrets.token_hex(32),
    "UUID (not detected by design)": lambda: str(uuid.uuid4()),
}

PATHOLOGICAL: dict[str, Callable[[int], str]] = {
    "eyJ repeated": lambda n: "eyJ" * (n // 3),
    "eyJ. repeated": lambda n: "eyJ." * (n // 4),
    "URL with colons": lambda n: "a://" + ":" * (n - 4),
    "query with many names": lambda n: "http://h/?" + "a=1&" * (n // 4),
    "sk- repeated": lambda n: "sk-" * (n // 3),
    "base64-like": lambda n: "aA1+" * (n // 4),
}


def main() -> None:
    """Print the three tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="generated credentials per generator")
    args = parser.parse_args()

    false_positives = [s for s in REAL_STRINGS if looks_like_credential(s)]
    flagged_args = [REAL_ARGS[index] for index, _ in extra_args_credentials(REAL_ARGS)]
    print(f"false positives: {len(false_positives)} of {len(REAL_STRINGS)} real strings, ", end="")
    print(f"{len(flagged_args)} of {len(REAL_ARGS)} real vLLM arguments")
    for text in false_positives + flagged_args:
        print(f"  flagged: {text}")

    print(f"\n{'generator':40} caught (of {args.samples})")
    for name, generate in GENERATORS.items():
        caught = sum(looks_like_credential(generate()) is not None for _ in range(args.samples))
        print(f"{name:40} {caught / args.samples:6.1%}")

    size = 1024 * 1024
    print(f"\n{'hostile 1 MiB string':40} seconds")
    for name, make in PATHOLOGICAL.items():
        text = make(size)
        started = time.perf_counter()
        looks_like_credential(text)
        print(f"{name:40} {time.perf_counter() - started:6.3f}")


if __name__ == "__main__":
    main()
