"""Tests for llmscale.config: schema, tier presets, cross-key checks, error lines and stack files.

Every invalid config must be reported as one `SOURCE: KEY: MESSAGE` line per problem, naming the exact
dotted key, and no message may ever echo a value (a secret typed into the wrong key must not leak).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmscale.config import ConfigError, Problem, StackConfig, load_stack, parse_values, resolve_stack
from llmscale.config.loader import SECRET_PLACEHOLDER, read_stack_file
from llmscale.config.models import Lane, Platform, Tier
from llmscale.config.presets import PRESETS

SOURCE = "stacks/Pulumi.test.yaml"
MODEL_ID = "meta-llama/Llama-3.1-8B-Instruct"
SECRET = "sk-live-SUPERSECRET"
SECRET_KEYS = frozenset({"llmscale:apiKeys", "llmscale:hfToken", "llmscale:grafanaAdminPassword"})
API_KEYS = '{"team-a": "key-a-0123456789abcdef"}'  # stored as a secret (its key is in SECRET_KEYS)
STRUCTURED_KEYS = ("models", "gpu", "slo", "load", "schedule", "routing", "host")
DROP = object()  # a change that removes the key

BASE: dict[str, Any] = {
    "llmscale:tier": "single-gpu",
    "llmscale:platform": "aws",
    "aws:region": "eu-west-1",
    "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
    "llmscale:models": [{"name": "chat", "model": MODEL_ID}],
    "llmscale:apiKeys": API_KEYS,
}
# Multi-GPU on an existing cluster: no region and no host settings needed.
K8S: dict[str, Any] = {
    "llmscale:tier": "multi-gpu",
    "llmscale:platform": "kubernetes",
    "aws:region": DROP,
    "llmscale:host": DROP,
}


# --- helpers ---------------------------------------------------------------------------------------------


def config(*change_sets: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the minimal valid config with the change sets applied in order (`DROP` removes a key)."""
    values = copy.deepcopy(BASE)
    for change_set in change_sets:
        for key, value in change_set.items():
            if value is DROP:
                values.pop(key, None)
            else:
                values[key] = copy.deepcopy(value)
    return values


def profile(**fields: Any) -> dict[str, Any]:
    """A valid model profile with some fields changed."""
    return {"name": "chat", "model": MODEL_ID, **fields}


def models(**fields: Any) -> dict[str, Any]:
    """The change that replaces `llmscale:models` with one profile carrying `fields`."""
    return {"llmscale:models": [profile(**fields)]}


def parse(values: dict[str, Any], secret_keys: frozenset[str] | None = None) -> tuple[StackConfig, str | None]:
    return parse_values(values, SECRET_KEYS if secret_keys is None else secret_keys, SOURCE)


def problems_of(values: dict[str, Any], secret_keys: frozenset[str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(values, secret_keys)
    return caught.value


def assert_well_formed(error: ConfigError, source: str = SOURCE) -> None:
    """Every line is `SOURCE: KEY: MESSAGE`, one per problem, with nothing of pydantic's own format."""
    text = str(error)
    lines = text.splitlines()
    assert lines == error.lines()
    assert len(lines) == len(error.problems) >= 1
    for line, problem in zip(lines, error.problems, strict=True):
        assert line == f"{source}: {problem.key}: {problem.message}"
        assert " " not in problem.key or problem.key.startswith("line ")
        assert problem.message and "\n" not in problem.message
    for noise in ("Traceback", "validation error", "errors.pydantic.dev", "input_value", "type="):
        assert noise not in text


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the minimal config ----------------------------------------------------------------------------------


def test_minimal_config_is_valid() -> None:
    stack, region = parse(config())
    assert region == "eu-west-1"
    assert stack.tier is Tier.SINGLE_GPU
    assert stack.platform is Platform.AWS
    assert [m.name for m in stack.models] == ["chat"]
    assert stack.models[0].model == MODEL_ID
    assert stack.models[0].lane is Lane.INTERACTIVE
    assert stack.host.allowed_cidrs == ["203.0.113.0/24"]
    assert stack.api_keys is not None and stack.api_keys.get_secret_value() == API_KEYS
    assert stack.hf_token is None


def test_host_platform_needs_neither_region_nor_api_keys() -> None:
    stack, region = parse(config({"llmscale:platform": "host", "aws:region": DROP, "llmscale:apiKeys": DROP}))
    assert (stack.platform, region, stack.api_keys) == (Platform.HOST, None, None)


def test_parse_does_not_mutate_its_input() -> None:
    values = config(models(maxNumSeqs=32), {"llmscale:slo": {"availability": 0.99}})
    before = copy.deepcopy(values)
    parse(values)
    assert values == before


def test_other_namespaces_are_ignored() -> None:
    stack, _ = parse(config({"kubernetes:context": "x", "pulumi:tags": {"a": "b"}}))
    assert stack.tier is Tier.SINGLE_GPU


# --- invalid configs: exact key and message ---------------------------------------------------------------

INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, change set, exact dotted key, message fragment)
    ("unknown-top-level-key", {"llmscale:foo": 1}, "llmscale:foo", "unknown key; known keys: apiKeys"),
    (
        "unknown-nested-key-suggests",
        models(maxReplica=1),
        "llmscale:models[0].maxReplica",
        "did you mean maxReplicas?",
    ),
    (
        "unknown-schedule-key-suggests",
        {"llmscale:schedule": {"timeZone": "UTC"}},
        "llmscale:schedule.timeZone",
        "did you mean timezone?",
    ),
    ("wrong-type-max-num-seqs", models(maxNumSeqs="lots"), "llmscale:models[0].maxNumSeqs", "valid integer"),
    ("wrong-type-bool", {"llmscale:schedule": {"enabled": "perhaps"}}, "llmscale:schedule.enabled", "valid boolean"),
    (
        "min-above-max-replicas",
        {**K8S, **models(minReplicas=5, maxReplicas=3)},
        "llmscale:models[0].maxReplicas",
        "must be >= minReplicas (5), got 3",
    ),
    (
        "bad-timezone",
        {"llmscale:schedule": {"timezone": "Mars/Olympus_Mons"}},
        "llmscale:schedule.timezone",
        "use an IANA name such as Europe/Berlin",
    ),
    (
        "empty-schedule-window",
        {"llmscale:schedule": {"start": "09:00", "end": "09:00"}},
        "llmscale:schedule.end",
        "equals start (09:00), so the active window would be empty",
    ),
    ("bad-hhmm-hour", {"llmscale:schedule": {"start": "24:00"}}, "llmscale:schedule.start", "24-hour time HH:MM"),
    ("bad-hhmm-format", {"llmscale:schedule": {"end": "7pm"}}, "llmscale:schedule.end", "24-hour time HH:MM"),
    (
        "unknown-day",
        {"llmscale:schedule": {"days": ["mon", "funday"]}},
        "llmscale:schedule.days",
        "entry 1 is not a day",
    ),
    ("no-days", {"llmscale:schedule": {"days": []}}, "llmscale:schedule.days", "at least one day"),
    ("day-twice", {"llmscale:schedule": {"days": ["mon", "Mon"]}}, "llmscale:schedule.days", "names a day twice"),
    ("unknown-tier", {"llmscale:tier": "huge-gpu"}, "llmscale:tier", "'single-gpu', 'multi-gpu' or 'enterprise'"),
    ("missing-tier", {"llmscale:tier": DROP}, "llmscale:tier", "required key is missing"),
    ("unknown-platform", {"llmscale:platform": "gcp"}, "llmscale:platform", "'aws', 'kubernetes' or 'host'"),
    ("missing-models", {"llmscale:models": DROP}, "llmscale:models", "required key is missing"),
    ("empty-models", {"llmscale:models": []}, "llmscale:models", "at least 1 item"),
    (
        "duplicate-profile-names",
        {**K8S, "llmscale:models": [profile(), profile(model="other/model")]},
        "llmscale:models",
        "profile name(s) used twice: chat",
    ),
    ("bad-profile-name", models(name="Chat_Model"), "llmscale:models[0].name", "lowercase DNS label"),
    ("zero-p99", {"llmscale:slo": {"p99LatencySeconds": 0}}, "llmscale:slo.p99LatencySeconds", "greater than 0"),
    ("negative-p99", {"llmscale:slo": {"p99LatencySeconds": -1}}, "llmscale:slo.p99LatencySeconds", "greater than 0"),
    (
        "availability-as-percent",
        {"llmscale:slo": {"availability": 99.9}},
        "llmscale:slo.availability",
        "is a fraction: write 0.999 for 99.9 %",
    ),
    (
        "error-rate-as-percent",
        {"llmscale:slo": {"maxErrorRate": 5}},
        "llmscale:slo.maxErrorRate",
        "is a fraction: write 0.05 for 5 %",
    ),
    ("unpinned-image", models(image="vllm/vllm-openai"), "llmscale:models[0].image", "must be pinned"),
    ("latest-image", models(image="vllm/vllm-openai:latest"), "llmscale:models[0].image", "must be pinned"),
    ("image-with-space", models(image="vllm openai:v1"), "llmscale:models[0].image", "image reference"),
    (
        "single-gpu-on-kubernetes",
        {"llmscale:platform": "kubernetes"},
        "llmscale:platform",
        "kubernetes does not fit tier single-gpu (allowed: aws, host)",
    ),
    (
        "multi-gpu-on-host",
        {**K8S, "llmscale:platform": "host"},
        "llmscale:platform",
        "host does not fit tier multi-gpu (allowed: aws, kubernetes)",
    ),
    (
        "enterprise-on-host",
        {**K8S, "llmscale:tier": "enterprise", "llmscale:platform": "host"},
        "llmscale:platform",
        "host does not fit tier enterprise",
    ),
    (
        "single-gpu-two-profiles",
        {"llmscale:models": [profile(), profile(name="code")]},
        "llmscale:models",
        "the single-gpu tier serves one model profile, got 2",
    ),
    (
        "single-gpu-two-replicas",
        models(maxReplicas=2),
        "llmscale:models[0].maxReplicas",
        "the single-gpu tier runs one replica",
    ),
    (
        "aws-single-gpu-without-api-keys",
        {"llmscale:apiKeys": DROP},
        "llmscale:apiKeys",
        "required: clients authenticate with these keys",
    ),
    ("aws-without-region", {"aws:region": DROP}, "aws:region", "required on platform aws"),
    ("aws-with-empty-region", {"aws:region": ""}, "aws:region", "required on platform aws"),
    ("aws-single-gpu-without-cidrs", {"llmscale:host": {}}, "llmscale:host.allowedCidrs", "required on platform aws"),
    (
        "bad-cidr-prefix",
        {"llmscale:host": {"allowedCidrs": ["203.0.113.0/33"]}},
        "llmscale:host.allowedCidrs",
        "not a network in CIDR notation",
    ),
    (
        "cidr-with-host-bits",
        {"llmscale:host": {"allowedCidrs": ["203.0.113.7/24"]}},
        "llmscale:host.allowedCidrs",
        "not a network in CIDR notation",
    ),
    (
        "vpc-cidr-too-small",
        {"llmscale:host": {"allowedCidrs": ["203.0.113.0/24"], "vpcCidr": "10.0.0.0/28"}},
        "llmscale:host.vpcCidr",
        "between /16 and /24",
    ),
    (
        "tls-acme-without-domain",
        {"llmscale:host": {"allowedCidrs": ["0.0.0.0/0"], "tls": "acme"}},
        "llmscale:host.domain",
        "tls acme needs a domain",
    ),
    (
        "tls-acme-not-reachable",
        {"llmscale:host": {"allowedCidrs": ["203.0.113.0/24"], "tls": "acme", "domain": "llm.example.com"}},
        "llmscale:host.allowedCidrs",
        "tls acme needs port 443 reachable",
    ),
    (
        "zone-without-domain",
        {"llmscale:host": {"allowedCidrs": ["203.0.113.0/24"], "hostedZoneId": "Z0123456789ABCDEF"}},
        "llmscale:host.domain",
        "hostedZoneId is set",
    ),
    (
        "aws-only-host-key-on-host",
        {"llmscale:platform": "host", "llmscale:host": {"subnetId": "subnet-0123456789abcdef0"}},
        "llmscale:host.subnetId",
        "only used on platform aws",
    ),
    (
        "gpus-per-replica-exceed-node",
        {**K8S, **models(gpusPerReplica=2)},
        "llmscale:models[0].gpusPerReplica",
        "2 GPUs do not fit one g6e.xlarge node (1 GPUs)",
    ),
    (
        "gpus-per-replica-exceed-stated-node",
        {**K8S, "llmscale:gpu": {"instanceType": "x9.huge", "gpusPerNode": 2}, **models(gpusPerReplica=4)},
        "llmscale:models[0].gpusPerReplica",
        "4 GPUs do not fit one x9.huge node (2 GPUs)",
    ),
    (
        "unknown-instance-without-gpus-per-node",
        {"llmscale:gpu": {"instanceType": "x9.huge"}},
        "llmscale:gpu.instanceType",
        "is not in llmscale's catalogue; set gpusPerNode",
    ),
    ("malformed-instance-type", {"llmscale:gpu": {"instanceType": "G6E"}}, "llmscale:gpu.instanceType", "EC2"),
    (
        "context-shorter-than-load",
        {**models(maxModelLen=1024), "llmscale:load": {"promptTokens": 1000, "outputTokens": 250}},
        "llmscale:models[0].maxModelLen",
        "1024 is shorter than load.promptTokens + load.outputTokens (1250)",
    ),
    (
        "extra-args-repeat-modelled-flag",
        models(extraArgs=["--enable-chunked-prefill", "--max-model-len=4096"]),
        "llmscale:models[0].extraArgs",
        "--max-model-len is set by llmscale",
    ),
    (
        "extra-args-repeat-modelled-flag-separate-value",
        models(extraArgs=["--max-num-seqs", "32"]),
        "llmscale:models[0].extraArgs",
        "--max-num-seqs is set by llmscale",
    ),
    ("extra-args-not-a-flag", models(extraArgs=["-x"]), "llmscale:models[0].extraArgs[0]", "vLLM flag"),
    (
        "plaintext-api-keys",
        {"llmscale:apiKeys": "abc"},
        "llmscale:apiKeys",
        "is stored in plain text; remove it and run `pulumi config set --secret llmscale:apiKeys ...`",
    ),
    ("plaintext-hf-token", {"llmscale:hfToken": "hf_abc"}, "llmscale:hfToken", "is stored in plain text"),
    (
        "key-without-namespace",
        {"tier": "single-gpu"},
        "tier",
        "config keys need a namespace; did you mean llmscale:tier?",
    ),
    (
        "json-string-not-json",
        {"llmscale:host": "allowedCidrs: [203.0.113.0/24]"},
        "llmscale:host",
        "must be a mapping or list, not a plain string",
    ),
    ("json-string-wrong-shape", {"llmscale:slo": "[1, 2]"}, "llmscale:slo", "valid dictionary"),
    (
        "queue-shorter-than-batch",
        models(maxNumSeqs=64, maxNumQueuedReqs=32),
        "llmscale:models[0].maxNumQueuedReqs",
        "must be >= maxNumSeqs (64)",
    ),
    ("bad-environment", {"llmscale:environment": "prod"}, "llmscale:environment", "production, staging or"),
    (
        "gpu-memory-utilization-too-high",
        models(gpuMemoryUtilization=0.99),
        "llmscale:models[0].gpuMemoryUtilization",
        "less than or equal to 0.98",
    ),
    (
        "off-hours-floor-above-max",
        {**K8S, **models(minReplicas=1, maxReplicas=2), "llmscale:schedule": {"offHoursMinReplicas": 3}},
        "llmscale:schedule.offHoursMinReplicas",
        "3 is above maxReplicas of chat",
    ),
    ("bad-lane", models(lane="urgent"), "llmscale:models[0].lane", "'interactive' or 'batch'"),
    (
        # The API server rejects a stabilization window over an hour in the HPA KEDA creates.
        "scale-down-window-over-an-hour",
        {**K8S, "llmscale:autoscaling": {"scaleDownStabilizationSeconds": 3601}},
        "llmscale:autoscaling.scaleDownStabilizationSeconds",
        "less than or equal to 3600",
    ),
    ("bad-routing", {"llmscale:routing": {"strategy": "random"}}, "llmscale:routing.strategy", "'round-robin'"),
    (
        "cache-aware-on-one-gpu",
        {"llmscale:routing": {"strategy": "cache-aware"}},
        "llmscale:routing",
        "only used by the multi-gpu and enterprise tiers; remove it",
    ),
    (
        # One InferencePool per route rule: a weighted canary cannot be expressed.
        "cache-aware-with-a-canary",
        {
            **K8S,
            "llmscale:routing": {"strategy": "cache-aware"},
            "llmscale:models": [profile(canary={"model": MODEL_ID, "weight": 10})],
        },
        "llmscale:models[0].canary",
        "use least-loaded routing while a canary runs",
    ),
    (
        "six-endpoint-pickers",
        {**K8S, "llmscale:routing": {"strategy": "cache-aware", "endpointPickerReplicas": 6}},
        "llmscale:routing.endpointPickerReplicas",
        "less than or equal to 5",
    ),
]


@pytest.mark.parametrize(("change", "key", "fragment"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_config_names_key_and_fix(change: dict[str, Any], key: str, fragment: str) -> None:
    # A secret key that a case sets is stored in plain text; the base config's apiKeys stays a secret.
    error = problems_of(config(change), secret_keys=SECRET_KEYS - change.keys())
    assert_well_formed(error)
    assert [p.key for p in error.problems] == [key], error.lines()
    assert fragment in error.problems[0].message
    assert error.source == SOURCE


def test_invalid_cases_are_distinct() -> None:
    ids = [c[0] for c in INVALID]
    assert len(ids) == len(set(ids)) >= 20


# --- several problems at once -----------------------------------------------------------------------------


def test_schema_problems_are_all_reported_at_once() -> None:
    values = config(
        {
            "llmscale:foo": 1,
            "region": "eu-west-1",
            "llmscale:apiKeys": "abc",
            "llmscale:slo": {"availability": 99.9, "p99LatencySeconds": 0},
            "llmscale:schedule": {"timezone": "Nowhere/Land", "start": "8am"},
        },
        models(maxNumSeqs="x", maxReplica=1),
    )
    error = problems_of(values, secret_keys=frozenset())
    assert_well_formed(error)
    assert sorted(p.key for p in error.problems) == sorted(
        [
            "region",
            "llmscale:apiKeys",
            "llmscale:foo",
            "llmscale:models[0].maxNumSeqs",
            "llmscale:models[0].maxReplica",
            "llmscale:slo.p99LatencySeconds",
            "llmscale:slo.availability",
            "llmscale:schedule.timezone",
            "llmscale:schedule.start",
        ]
    )


def test_cross_key_problems_are_all_reported_at_once() -> None:
    values = config(
        {"llmscale:host": {}},
        {"llmscale:models": [profile(maxReplicas=2), profile(name="code", maxReplicas=3, maxModelLen=512)]},
    )
    error = problems_of(values)
    assert_well_formed(error)
    assert [p.key for p in error.problems] == [
        "llmscale:models",
        "llmscale:models[0].maxReplicas",
        "llmscale:models[1].maxReplicas",
        "llmscale:host.allowedCidrs",
        "llmscale:models[1].maxModelLen",
    ]


def test_problem_renders_one_line() -> None:
    problem = Problem("llmscale:models[0].maxReplicas", "must be >= minReplicas (2), got 1")
    assert problem.render("stacks/Pulumi.x.yaml") == (
        "stacks/Pulumi.x.yaml: llmscale:models[0].maxReplicas: must be >= minReplicas (2), got 1"
    )
    error = ConfigError("f.yaml", [problem, Problem("aws:region", "required")])
    assert str(error) == (
        "f.yaml: llmscale:models[0].maxReplicas: must be >= minReplicas (2), got 1\nf.yaml: aws:region: required"
    )


# --- secrets are never echoed -----------------------------------------------------------------------------

SECRET_MISPLACED: list[tuple[str, dict[str, Any], frozenset[str]]] = [
    ("plaintext-api-keys", {"llmscale:apiKeys": SECRET}, SECRET_KEYS - {"llmscale:apiKeys"}),
    ("plaintext-hf-token", {"llmscale:hfToken": SECRET}, SECRET_KEYS - {"llmscale:hfToken"}),
    ("plaintext-grafana-password", {"llmscale:grafanaAdminPassword": SECRET}, frozenset()),
    ("api-keys-wrong-type", {"llmscale:apiKeys": [SECRET]}, SECRET_KEYS),
    ("max-num-seqs", models(maxNumSeqs=SECRET), SECRET_KEYS),
    ("gpu-memory-utilization", models(gpuMemoryUtilization=SECRET), SECRET_KEYS),
    ("unknown-top-level-key-value", {"llmscale:foo": SECRET}, SECRET_KEYS),
    ("unknown-nested-key-value", models(token=SECRET), SECRET_KEYS),
    ("model-name", models(name=SECRET), SECRET_KEYS),
    ("lane", models(lane=SECRET), SECRET_KEYS),
    ("extra-args", models(extraArgs=[f"--{SECRET}"]), SECRET_KEYS),
    ("modelled-flag-value", models(extraArgs=[f"--api-key={SECRET.lower()}"]), SECRET_KEYS),
    ("tier", {"llmscale:tier": SECRET}, SECRET_KEYS),
    ("platform", {"llmscale:platform": SECRET}, SECRET_KEYS),
    ("environment", {"llmscale:environment": SECRET}, SECRET_KEYS),
    ("structured-key-as-plain-string", {"llmscale:host": SECRET}, SECRET_KEYS),
    ("key-without-namespace", {"apiKeys": SECRET}, SECRET_KEYS),
    ("vpc-cidr", {"llmscale:host": {"allowedCidrs": ["203.0.113.0/24"], "vpcCidr": SECRET}}, SECRET_KEYS),
    ("routing-session-header", {"llmscale:routing": {"sessionHeader": SECRET + "!"}}, SECRET_KEYS),
    # The fields below run custom validators that build their message from the value.
    ("schedule-timezone", {"llmscale:schedule": {"timezone": SECRET}}, SECRET_KEYS),
    ("schedule-days", {"llmscale:schedule": {"days": [SECRET]}}, SECRET_KEYS),
    ("host-allowed-cidrs", {"llmscale:host": {"allowedCidrs": [SECRET]}}, SECRET_KEYS),
    ("gpu-instance-type", {"llmscale:gpu": {"instanceType": "sklive.supersecret"}}, SECRET_KEYS),
]


@pytest.mark.parametrize(
    ("change", "secret_keys"), [c[1:] for c in SECRET_MISPLACED], ids=[c[0] for c in SECRET_MISPLACED]
)
def test_misplaced_secret_is_never_echoed(change: dict[str, Any], secret_keys: frozenset[str]) -> None:
    error = problems_of(config(change), secret_keys)
    assert_well_formed(error)
    for text in (str(error), repr(error), *error.lines(), *(repr(p) for p in error.problems)):
        lowered = text.lower()
        assert SECRET.lower() not in lowered
        assert "supersecret" not in lowered


def test_stored_secrets_are_redacted_when_valid() -> None:
    stack, _ = parse(config({"llmscale:apiKeys": SECRET, "llmscale:hfToken": SECRET}))
    assert stack.api_keys is not None and stack.hf_token is not None
    assert stack.api_keys.get_secret_value() == SECRET
    assert SECRET not in repr(stack)
    assert SECRET not in str(stack.model_dump())


# --- tier presets -----------------------------------------------------------------------------------------


def test_single_gpu_preset() -> None:
    stack, _ = parse(config())
    assert stack.environment == "development"
    assert stack.slo.availability == 0.99
    assert stack.slo.p99_latency_seconds == 10.0
    assert stack.gpu.instance_type == "g6e.xlarge"
    assert (stack.models[0].min_replicas, stack.models[0].max_replicas) == (1, 1)
    assert stack.load.peak_concurrent_users == 25


def test_multi_gpu_preset_spreads_model_defaults_over_every_profile() -> None:
    stack, region = parse(config(K8S, {"llmscale:models": [profile(), profile(name="code", maxReplicas=6)]}))
    assert region is None
    assert [(m.min_replicas, m.max_replicas, m.max_num_seqs) for m in stack.models] == [(2, 4, 128), (2, 6, 128)]
    assert stack.environment == "production"
    assert stack.load.peak_concurrent_users == 100
    assert stack.slo.availability == 0.995


def test_enterprise_preset() -> None:
    stack, _ = parse(config(K8S, {"llmscale:tier": "enterprise"}))
    assert stack.slo.availability == 0.999
    assert stack.gpu.instance_type == "g6e.2xlarge"
    assert stack.schedule.off_hours_min_replicas == 2
    assert (stack.models[0].min_replicas, stack.models[0].max_replicas) == (3, 12)
    assert stack.load.peak_concurrent_users == 500
    # Per key and Envoy replica: the preset's declared load, about 1,355 requests a minute at the peak and up to
    # twice that in bursts, passes the 2 Envoy replicas.
    assert stack.gateway.rate_limit_requests_per_minute == 1500
    assert stack.gateway.rate_limit_requests_per_minute * stack.gateway.replicas >= 2 * 1355


def test_replicas_wait_an_hour_before_they_are_given_back() -> None:
    stack, _ = parse(config(K8S))
    assert stack.autoscaling.scale_down_stabilization_seconds == 3600


def test_explicit_config_overrides_preset() -> None:
    stack, _ = parse(
        config(
            K8S,
            {"llmscale:tier": "enterprise", "llmscale:environment": "staging"},
            {"llmscale:slo": {"availability": 0.99}, "llmscale:gpu": {"instanceType": "p5.48xlarge"}},
            models(minReplicas=1, maxReplicas=3, maxNumSeqs=256),
        )
    )
    assert stack.environment == "staging"
    assert stack.slo.availability == 0.99
    assert stack.gpu.instance_type == "p5.48xlarge"
    assert (stack.models[0].min_replicas, stack.models[0].max_replicas, stack.models[0].max_num_seqs) == (1, 3, 256)
    # Keys not stated keep the preset, not the model's own default.
    assert stack.slo.p99_latency_seconds == 10.0
    assert stack.schedule.off_hours_min_replicas == 2
    assert stack.models[0].max_model_len == 8192


def test_single_gpu_environment_override() -> None:
    stack, _ = parse(config({"llmscale:environment": "production"}))
    assert stack.environment == "production"


def test_presets_are_not_mutated_by_parsing() -> None:
    before = copy.deepcopy(PRESETS)
    parse(config(K8S, {"llmscale:slo": {"availability": 0.9}}, models(minReplicas=0, maxReplicas=1)))
    assert before == PRESETS
    stack, _ = parse(config(K8S))
    assert stack.slo.availability == 0.995
    assert stack.models[0].min_replicas == 2


def test_preset_defaults_can_conflict_with_explicit_bound() -> None:
    """A lone maxReplicas below the multi-gpu preset's minReplicas is reported against maxReplicas."""
    error = problems_of(config(K8S, models(maxReplicas=1)))
    assert [p.key for p in error.problems] == ["llmscale:models[0].maxReplicas"]
    assert "minReplicas (2)" in error.problems[0].message


# --- JSON-string form (as the Pulumi CLI passes structured values) ---------------------------------------


def as_json_strings(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: json.dumps(value) if key.removeprefix("llmscale:") in STRUCTURED_KEYS else value
        for key, value in values.items()
    }


RICH = config(
    K8S,
    {
        "llmscale:tier": "enterprise",
        "llmscale:gpu": {"instanceType": "g6e.12xlarge", "diskGb": 500},
        "llmscale:slo": {"availability": 0.999, "ttftP95Seconds": 1.5},
        "llmscale:load": {"peakConcurrentUsers": 800, "promptTokens": 2000},
        "llmscale:schedule": {"timezone": "Europe/Berlin", "days": ["fri", "mon"], "start": "20:00", "end": "06:00"},
        "llmscale:routing": {"strategy": "sticky", "sessionHeader": "x-user"},
        "llmscale:apiKeys": "key-a-0123456789abcdef",
        "llmscale:models": [
            profile(gpusPerReplica=4, image="vllm/vllm-openai:v0.33.0", extraArgs=["--enable-chunked-prefill"]),
            profile(name="batch", model="Qwen/Qwen2.5-7B", lane="batch", quantization="awq", maxNumQueuedReqs=500),
        ],
    },
)


@pytest.mark.parametrize("values", [config(), RICH], ids=["minimal", "rich"])
def test_json_string_form_parses_identically(values: dict[str, Any]) -> None:
    native = parse(values)
    from_json = parse(as_json_strings(values))
    assert from_json == native
    assert from_json[0].model_dump() == native[0].model_dump()


def test_rich_config_values() -> None:
    stack, _ = parse(RICH)
    assert stack.schedule.days == ["mon", "fri"]
    assert stack.schedule.crosses_midnight
    assert stack.models[1].lane is Lane.BATCH
    assert stack.models[1].queue_limit == 500
    assert stack.models[0].queue_limit == 3 * 128
    assert stack.gpu.gpus == 4


# --- stack files ------------------------------------------------------------------------------------------

STACK_BODY = """\
config:
  aws:region: eu-west-1
  llmscale:tier: single-gpu
  llmscale:platform: aws
  llmscale:host:
    allowedCidrs:
      - 203.0.113.0/24
  llmscale:models:
    - name: chat
      model: meta-llama/Llama-3.1-8B-Instruct
      maxNumSeqs: 32
"""
STACK_YAML = STACK_BODY + "  llmscale:apiKeys:\n    secure: v1:AAAABBBBCCCCDDDD\n"
SECURE_YAML = STACK_YAML + "  llmscale:hfToken:\n    secure: v1:EEEEFFFFGGGG\n"


def test_load_stack_from_path(tmp_path: Path) -> None:
    path = write(tmp_path / "Pulumi.mine.yaml", STACK_YAML)
    loaded = load_stack(str(path))
    assert loaded.name == "mine"
    assert loaded.source.endswith("Pulumi.mine.yaml")
    assert loaded.region == "eu-west-1"
    assert loaded.config.models[0].max_num_seqs == 32
    assert loaded.config.environment == "development"
    assert loaded.secret_keys == loaded.undecryptable == frozenset({"llmscale:apiKeys"})
    assert loaded.config == parse(read_stack_file(path)[0])[0]


def test_load_stack_by_name_under_root(tmp_path: Path) -> None:
    path = write(tmp_path / "stacks" / "Pulumi.demo.yaml", STACK_YAML)
    assert resolve_stack("demo", root=tmp_path) == ("demo", path)
    loaded = load_stack("demo", root=tmp_path)
    assert loaded.name == "demo"
    assert loaded.config.models[0].name == "chat"


def test_resolve_stack_accepts_yml_paths(tmp_path: Path) -> None:
    assert resolve_stack(str(tmp_path / "Pulumi.x.yml")) == ("x", tmp_path / "Pulumi.x.yml")
    assert resolve_stack(str(tmp_path / "other.yaml")) == ("other", tmp_path / "other.yaml")


def test_secure_values_become_placeholders(tmp_path: Path) -> None:
    path = write(tmp_path / "Pulumi.sec.yaml", SECURE_YAML)
    values, secret, undecryptable = read_stack_file(path)
    assert values["llmscale:apiKeys"] == SECRET_PLACEHOLDER == "[secret]"
    assert secret == undecryptable == {"llmscale:apiKeys", "llmscale:hfToken"}

    loaded = load_stack(str(path))
    assert loaded.secret_keys == frozenset({"llmscale:apiKeys", "llmscale:hfToken"})
    assert loaded.undecryptable == loaded.secret_keys
    assert loaded.config.api_keys is not None and loaded.config.hf_token is not None
    assert loaded.config.api_keys.get_secret_value() == "[secret]"
    assert loaded.config.hf_token.get_secret_value() == "[secret]"
    assert loaded.config.grafana_admin_password is None
    assert "v1:AAAA" not in json.dumps(loaded.pulumi_config)


def test_plaintext_secret_in_stack_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "Pulumi.plain.yaml", STACK_BODY + f"  llmscale:apiKeys: {SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        load_stack(str(path))
    assert_well_formed(caught.value, source=caught.value.source)
    assert [p.key for p in caught.value.problems] == ["llmscale:apiKeys"]
    assert SECRET not in str(caught.value)


def test_pulumi_config_values_are_strings(tmp_path: Path) -> None:
    path = write(tmp_path / "Pulumi.pc.yaml", SECURE_YAML)
    loaded = load_stack(str(path))
    assert all(isinstance(v, str) for v in loaded.pulumi_config.values())
    assert loaded.pulumi_config["llmscale:tier"] == "single-gpu"
    assert loaded.pulumi_config["aws:region"] == "eu-west-1"
    assert loaded.pulumi_config["llmscale:apiKeys"] == "[secret]"
    assert json.loads(loaded.pulumi_config["llmscale:host"]) == {"allowedCidrs": ["203.0.113.0/24"]}
    assert json.loads(loaded.pulumi_config["llmscale:models"]) == [
        {"name": "chat", "model": MODEL_ID, "maxNumSeqs": 32}
    ]
    # What the Pulumi runtime would hand the program parses to the same config.
    again, region = parse_values(loaded.pulumi_config, loaded.secret_keys, loaded.source)
    assert (again, region) == (loaded.config, loaded.region)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        # The parser reads ahead to tell a key from a value, so the error surfaces while the mapping is read.
        ("config:\n  llmscale:tier: single-gpu\n  llmscale:platform: aws: x\n", "line 3", "config"),
        (
            "config:\n  llmscale:tier: single-gpu\n  llmscale:models: [unclosed\n  aws:region: x\n",
            "line 4",
            "llmscale:models",
        ),
    ],
    ids=["mapping-in-scalar", "unclosed-flow-list"],
)
def test_invalid_yaml_names_a_line_and_key(tmp_path: Path, text: str, line: str, key: str) -> None:
    path = write(tmp_path / "Pulumi.bad.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_stack(str(path))
    error = caught.value
    assert_well_formed(error, source=error.source)
    assert error.source.endswith("Pulumi.bad.yaml")
    assert [p.key for p in error.problems] == [line]
    assert error.problems[0].message.startswith(f"{key}: not valid YAML (")


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("- a\n- b\n", "file", "must be a mapping with a `config:` section"),
        ("config:\n  - a\n", "config", "must be a mapping of `namespace:key: value`"),
        ("", "llmscale:tier", "required key is missing"),
    ],
    ids=["document-not-mapping", "config-not-mapping", "empty-file"],
)
def test_malformed_stack_file(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    path = write(tmp_path / "Pulumi.odd.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_stack(str(path))
    assert_well_formed(caught.value, source=caught.value.source)
    assert caught.value.problems[0].key == key
    assert fragment in caught.value.problems[0].message


def test_missing_stack_file(tmp_path: Path) -> None:
    for ref, root in ((str(tmp_path / "Pulumi.gone.yaml"), None), ("gone", tmp_path)):
        with pytest.raises(ConfigError) as caught:
            load_stack(ref, root=root)
        assert [p.key for p in caught.value.problems] == ["file"]
        assert "no such stack file" in caught.value.problems[0].message
        assert caught.value.source.endswith("Pulumi.gone.yaml")
        assert_well_formed(caught.value, source=caught.value.source)


def test_invalid_stack_file_reports_file_and_key(tmp_path: Path) -> None:
    write(tmp_path / "stacks" / "Pulumi.typo.yaml", STACK_YAML.replace("maxNumSeqs", "maxNumSeq"))
    with pytest.raises(ConfigError) as caught:
        load_stack("typo", root=tmp_path)
    (line,) = caught.value.lines()
    expected = ": llmscale:models[0].maxNumSeq: unknown key; did you mean maxNumSeqs?"
    assert line.startswith(caught.value.source + expected)
    assert caught.value.source.endswith("Pulumi.typo.yaml")


# --- property: replica bounds ----------------------------------------------------------------------------


@given(min_replicas=st.integers(0, 20), max_replicas=st.integers(1, 20))
def test_replica_bounds_property(min_replicas: int, max_replicas: int) -> None:
    values = config(K8S, models(minReplicas=min_replicas, maxReplicas=max_replicas))
    if min_replicas <= max_replicas:
        stack, region = parse(values)
        assert region is None
        assert (stack.models[0].min_replicas, stack.models[0].max_replicas) == (min_replicas, max_replicas)
    else:
        with pytest.raises(ConfigError) as caught:
            parse(values)
        assert [p.key for p in caught.value.problems] == ["llmscale:models[0].maxReplicas"]
        assert f"must be >= minReplicas ({min_replicas}), got {max_replicas}" in caught.value.problems[0].message


# --- a secret key with no value ----------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["llmscale:hfToken", "llmscale:apiKeys", "llmscale:grafanaAdminPassword"])
@pytest.mark.parametrize("blank", [None, "", "  "], ids=["null", "empty", "spaces"])
def test_a_secret_key_without_a_value_is_one_problem(secret: str, blank: str | None) -> None:
    """`llmscale:hfToken:` reads as null offline and as "" under the Pulumi CLI: the same line either way."""
    for secret_keys in (SECRET_KEYS - {secret}, SECRET_KEYS | {secret}):
        error = problems_of(config({secret: blank}), secret_keys)
        assert_well_formed(error)
        assert error.lines() == [
            f"{SOURCE}: {secret}: has no value; "
            f"set it with `pulumi config set --secret {secret} ...` or delete the line"
        ]


def test_a_key_without_a_value_reads_as_pulumi_reads_it(tmp_path: Path) -> None:
    """The Pulumi CLI hands programs "" for a key written without a value; the offline loader does the same."""
    path = write(tmp_path / "Pulumi.blank.yaml", STACK_YAML + "  llmscale:hfToken:\n  other:setting: ~\n")
    values, secret, _ = read_stack_file(path)
    assert values["llmscale:hfToken"] == values["other:setting"] == ""
    assert "llmscale:hfToken" not in secret
    with pytest.raises(ConfigError) as caught:
        load_stack(str(path))
    assert [p.key for p in caught.value.problems] == ["llmscale:hfToken"]


def test_a_structured_key_without_a_value_says_so() -> None:
    for blank in (None, ""):
        error = problems_of(config({"llmscale:host": blank}))
        assert [p.key for p in error.problems] == ["llmscale:host"], error.lines()
    error = problems_of(config({"llmscale:host": ""}))
    assert error.problems[0].message == "has no value; give a mapping or list, or delete the line"


# --- credentials in plain config ---------------------------------------------------------------------------

HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
OPENAI_KEY = "sk-proj-" + "Xy7Qw2Er9Ty4Ui1Op6As3Df8Gh5Jk0Lz"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
RANDOM_KEY = "q3R8vN1xT6bY0mK4wZ7pL2sH9cJ5fD8gA1eU6iO3"  # what `openssl rand -base64 30` prints, less its '+' '/'
TOKENS = {"hf": HF_TOKEN, "sk": OPENAI_KEY, "aws": AWS_KEY_ID, "random": RANDOM_KEY}


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
@pytest.mark.parametrize(
    "args",
    [
        ["--hf-token", "{token}"],
        ["--hf-token={token}"],
        ["--hf-tok={token}"],  # vLLM's argparse accepts unambiguous prefixes
        ["--enable-chunked-prefill", "--api-key", "{token}"],
        ["--seed-token={token}"],
        ["--db-password={token}"],
        ["--otlp-traces-endpoint", "https://collector.example.com/v1/traces", "--hf-overrides", "{token}"],
        ["--watermark-config", '{{"key": 12345, "algorithm": "gumbel"}}'],
        ['--hf-overrides={{"nested": {{"api_token": "x"}}}}'],
        ["--otlp-traces-endpoint=https://user:{token}@collector.example.com"],
        ["{token}"],
    ],
    ids=[
        "hf-token",
        "hf-token-equals",
        "abbreviated",
        "api-key",
        "seed-token",
        "password-flag",
        "token-as-value",
        "watermark-key",
        "json-field",
        "url-password",
        "bare-value",
    ],
)
def test_credentials_in_extra_args_are_refused_without_echo(args: list[str], token: str) -> None:
    filled = [arg.format(token=token) for arg in args]
    error = problems_of(config(models(extraArgs=filled)))
    assert_well_formed(error)
    assert [p.key for p in error.problems] == ["llmscale:models[0].extraArgs"], error.lines()
    message = error.problems[0].message
    assert "the vLLM command line shows in plan output, manifests and user data" in message
    assert "entry " in message
    assert token not in str(error) and token[:12] not in str(error)


def test_extra_args_point_to_the_secret_setting_to_use() -> None:
    error = problems_of(config(models(extraArgs=["--enable-chunked-prefill", "--hf-token", HF_TOKEN])))
    assert error.problems[0].message == (
        "entry 1 is the vLLM flag --hf-token, which takes a credential; entry 2 looks like a Hugging Face token: "
        "the vLLM command line shows in plan output, manifests and user data; remove them and run "
        "`pulumi config set --secret llmscale:hfToken ...`"
    )
    error = problems_of(config(models(extraArgs=["--api-key=whatever-it-is"])))
    assert "`pulumi config set --secret llmscale:apiKeys ...`" in error.problems[0].message


CREDENTIAL_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("model", models(model=HF_TOKEN), "llmscale:models[0].model"),
    ("canary-model", {**K8S, **models(canary={"model": f"org/{HF_TOKEN}"})}, "llmscale:models[0].canary.model"),
    (
        "canary-image",
        {**K8S, **models(canary={"image": f"registry.example.com/{RANDOM_KEY}:v1"})},
        "llmscale:models[0].canary.image",
    ),
    ("image", models(image=f"{AWS_KEY_ID}.dkr.ecr.eu-west-1.amazonaws.com/vllm:v1"), "llmscale:models[0].image"),
    (
        "runbook-url",
        {"llmscale:monitoring": {"runbookUrl": f"https://wiki/run?token={RANDOM_KEY}"}},
        "llmscale:monitoring.runbookUrl",
    ),
    (
        "prometheus-url",
        {**K8S, "llmscale:kubernetes": {"prometheusUrl": "http://admin:pw@prometheus.monitoring.svc:9090"}},
        "llmscale:kubernetes.prometheusUrl",
    ),
    (
        "node-selector-value",
        {**K8S, "llmscale:kubernetes": {"gpuNodeSelector": {"pool": OPENAI_KEY}}},
        "llmscale:kubernetes.gpuNodeSelector.pool",
    ),
    (
        "node-selector-key",
        {**K8S, "llmscale:kubernetes": {"gpuNodeSelector": {AWS_KEY_ID: "x"}}},
        "llmscale:kubernetes.gpuNodeSelector",
    ),
    (
        "inline-kubeconfig",
        {
            **K8S,
            "llmscale:kubernetes": {
                "kubeconfig": f"users:\n- user:\n    token: eyJhbGciOiJSUzI1.eyJpc3MiOiJrdWJl.{RANDOM_KEY}"
            },
        },
        "llmscale:kubernetes.kubeconfig",
    ),
    ("enum-field", models(lane=HF_TOKEN), "llmscale:models[0].lane"),
    ("unknown-key", {"llmscale:token": HF_TOKEN}, "llmscale:token"),
    ("structured-as-json-text", {"llmscale:models": json.dumps([profile(model=HF_TOKEN)])}, "llmscale:models[0].model"),
]


@pytest.mark.parametrize(("change", "key"), [c[1:] for c in CREDENTIAL_FIELDS], ids=[c[0] for c in CREDENTIAL_FIELDS])
def test_credentials_in_free_form_fields_are_refused_without_echo(change: dict[str, Any], key: str) -> None:
    error = problems_of(config(change))
    assert_well_formed(error)
    assert [p.key for p in error.problems] == [key], error.lines()
    assert "in plain config it would show in plan output and rendered files" in error.problems[0].message
    for token in (*TOKENS.values(), "admin:pw"):
        assert token not in str(error)


def test_a_hugging_face_token_points_to_the_hf_token_setting() -> None:
    (problem,) = problems_of(config(models(model=HF_TOKEN))).problems
    assert problem.message.endswith("store it with `pulumi config set --secret llmscale:hfToken ...`")


# Model ids, images, paths and flags a stack really uses: none may look like a credential.
BENIGN_STRINGS = [
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct",
    "Qwen/Qwen2.5-72B-Instruct-GPTQ-Int4",
    "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
    "deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct",
    "nvidia/Llama-3_1-Nemotron-Ultra-253B-v1",
    "RedHatAI/Llama-3.3-70B-Instruct-quantized.w8a8",
    "CohereForAI/c4ai-command-r-plus-08-2024",
    "MaziyarPanahi/Llama-3-8B-Instruct-32k-v0.1",
    "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
    "s3://acme-models/meta-llama/Llama-3.1-8B-Instruct/",
    "/models/models--meta-llama--Llama-3.1-8B-Instruct/snapshots/0e9e39f249a16976918f6564b8830bc894c89659",
]
BENIGN_ARGS = [
    "--enable-chunked-prefill",
    "--long-prefill-token-threshold=2048",
    "--max-num-batched-tokens",
    "8192",
    "--tokenizer=meta-llama/Llama-3.1-8B-Instruct",
    "--revision=0e9e39f249a16976918f6564b8830bc894c89659",
    "--ssl-keyfile=/etc/tls/tls.key",
    '--speculative-config={"model": "meta-llama/Llama-3.2-1B-Instruct", "num_speculative_tokens": 5}',
    "--otlp-traces-endpoint=http://otel-collector.observability.svc:4317",
    "--kv-cache-dtype=fp8",
    '--hf-overrides={"eos_token": "</s>", "pad_token_id": 0}',
]


@pytest.mark.parametrize("model", BENIGN_STRINGS)
def test_real_model_ids_and_flags_are_not_mistaken_for_credentials(model: str) -> None:
    image = "vllm/vllm-openai@sha256:" + "0123456789abcdef" * 4
    stack, _ = parse(config(models(model=model, image=image, extraArgs=BENIGN_ARGS)))
    assert stack.models[0].model == model
    assert stack.models[0].extra_args == BENIGN_ARGS


def test_urls_with_ordinary_query_parameters_are_fine() -> None:
    url = "https://wiki.example.com/pages/viewpage.action?spaceKey=OPS&title=LLM+runbook&pageToken=2"
    stack, _ = parse(config({"llmscale:monitoring": {"runbookUrl": url}}))
    assert stack.monitoring.runbook_url == url


@given(
    st.sampled_from(["hf_", "sk-", "sk-proj-", "ghp_", "AKIA", "ASIA", ""]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=40, max_size=60),
)
def test_generated_tokens_never_pass_and_never_echo(prefix: str, body: str) -> None:
    """Whatever the token, in extraArgs or a model id: refused, or (random text that happens to look like
    words) at least never quoted back."""
    token = prefix + (body.upper()[:16] if prefix in ("AKIA", "ASIA") else body)
    for change in (models(extraArgs=["--hf-token", token]), models(model=f"org/{token}")):
        try:
            parse(config(change))
        except ConfigError as error:
            assert token not in str(error)
        else:
            assert prefix == "" and "extraArgs" not in str(change), "a credential flag was accepted"


# --- duplicate keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (STACK_YAML + "  llmscale:tier: multi-gpu\n", 14, "llmscale:tier"),
        (
            STACK_YAML.replace("      maxNumSeqs: 32\n", "      maxNumSeqs: 32\n      name: other\n"),
            12,
            "llmscale:models[0].name",
        ),
        (
            STACK_YAML.replace("    allowedCidrs:", "    tls: internal\n    'tls': acme\n    allowedCidrs:"),
            7,
            "llmscale:host.tls",
        ),
        (STACK_YAML + "config:\n  aws:region: us-east-1\n", 14, "config"),
    ],
    ids=["top-level", "in-a-list-item", "quoted-and-plain", "document-level"],
)
def test_duplicate_keys_are_rejected_with_both_lines(tmp_path: Path, text: str, line: int, key: str) -> None:
    path = write(tmp_path / "Pulumi.dup.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_stack(str(path))
    (problem,) = caught.value.problems
    assert problem.key == f"line {line}"
    assert problem.message.startswith(f"{key}: is set twice (first on line ")
    assert_well_formed(caught.value, source=caught.value.source)


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = STACK_YAML.replace(
        "  llmscale:models:\n    - name: chat\n",
        "  llmscale:models:\n    - &base\n      name: chat\n",
    ).replace("      maxNumSeqs: 32\n", "      maxNumSeqs: 32\n    - <<: *base\n      name: second\n")
    values, _, _ = read_stack_file(write(tmp_path / "Pulumi.merge.yaml", text))
    assert [m["name"] for m in values["llmscale:models"]] == ["chat", "second"]
    assert values["llmscale:models"][1]["maxNumSeqs"] == 32


def test_endpoint_pickers_default_to_two_where_the_tier_promises_availability() -> None:
    cache_aware = {**K8S, "llmscale:routing": {"strategy": "cache-aware"}}
    multi, _ = parse(config(cache_aware))
    enterprise, _ = parse(config(cache_aware, {"llmscale:tier": "enterprise"}))
    stated, _ = parse(
        config({**cache_aware, "llmscale:routing": {"strategy": "cache-aware", "endpointPickerReplicas": 3}})
    )
    assert multi.routing.picker_replicas(multi.tier) == 1
    assert enterprise.routing.picker_replicas(enterprise.tier) == 2
    assert stated.routing.picker_replicas(stated.tier) == 3
