"""Tests for the offline plan: the program run under recording mocks, the plan document and its text form.

The plan must show what `pulumi up` would create without inventing values (anything the cloud computes is
"(known after apply)"), must never show a secret, and must be the same every time it is run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from llmscale.config.loader import LoadedStack, load_stack, parse_values
from llmscale.plan.recorder import REDACTED, SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_TEXT, redact
from llmscale.plan.report import known_secret_values, plan_document, render_text
from llmscale.plan.runner import PlanResult, run_program
from llmscale.program import main as program
from tests.helpers import strings
from tests.resource_types import STACK_TYPE

LEAKED_KEY = "sk-live-LEAKEDkey0123456789abcdef"
OTHER_KEY = "sk-live-OTHERkey9876543210fedcba"
HF_TOKEN = "hf_LEAKEDtokenABCDEFGHIJKLMNOP"

# A valid single-gpu AWS stack's config values, as the Pulumi runtime would hand them over.
LEAKY_VALUES: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "llmscale:tier": "single-gpu",
    "llmscale:platform": "aws",
    "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
    "llmscale:gpu": {"instanceType": "g6e.xlarge"},
    "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
}


# --- helpers ---------------------------------------------------------------------------------------------


def secret(value: Any) -> dict[str, Any]:
    """A value as the SDK hands a secret to the mocks."""
    return {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": value}


def plan(stack: str) -> dict[str, Any]:
    return plan_document(run_program(load_stack(stack), program))


def by_type(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in document["resources"] if r["type"] == kind]


def all_text(document: dict[str, Any]) -> str:
    """Every string of a plan document, unescaped, so that secrets with quotes in them are found too."""
    return "\n".join(strings(document))


def loaded_with_secrets(values: dict[str, Any]) -> LoadedStack:
    """A LoadedStack whose secrets are real (decrypted) values, as during `pulumi up`."""
    secret_keys = frozenset(k for k in values if k.split(":", 1)[-1] in ("apiKeys", "hfToken", "grafanaAdminPassword"))
    config, region = parse_values(values, secret_keys, "stacks/Pulumi.leaky.yaml")
    return LoadedStack(
        name="leaky",
        source="stacks/Pulumi.leaky.yaml",
        config=config,
        region=region,
        pulumi_config={k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()},
        secret_keys=secret_keys,
        undecryptable=frozenset(),
    )


def leaky_program(*leaks: str) -> Any:
    """A program that copies secret plaintext into non-secret inputs, an invoke and an export."""

    def run() -> None:
        component = pulumi.ComponentResource("test:index:Leaky", "leaky")
        child = pulumi.ResourceOptions(parent=component)
        for index, leak in enumerate(leaks):
            aws.ssm.Parameter(
                f"leaky-copy-{index}",
                type="String",
                insecure_value=f"Authorization: Bearer {leak}",
                description=leak,
                tags={"copy": leak, "nested": json.dumps({"k": leak})},
                opts=child,
            )
            aws.ssm.get_parameter_output(name=f"/leak/{leak}")
            pulumi.export(f"leaked-{index}", f"key={leak}")
        pulumi.export("plain", ["fine", 1.0])

    return run


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws_result(example_runs: Mapping[str, PlanResult]) -> PlanResult:
    return example_runs["single-gpu"]


@pytest.fixture(scope="module")
def aws_document(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return example_plans["single-gpu"]


@pytest.fixture(scope="module")
def host_document(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return example_plans["single-gpu-host"]


# --- the document ----------------------------------------------------------------------------------------


def test_every_resource_has_type_name_and_inputs(aws_document: dict[str, Any]) -> None:
    resources = aws_document["resources"]
    assert len(resources) > 10
    for resource in resources:
        assert isinstance(resource["type"], str)
        assert resource["type"].count(":") >= 2, resource["type"]
        assert isinstance(resource["name"], str)
        assert resource["name"]
        assert isinstance(resource["inputs"], dict)
    # Type and name identify a resource.
    keys = [(r["type"], r["name"]) for r in resources]
    assert len(keys) == len(set(keys))
    urns = [r["urn"] for r in resources]
    assert len(urns) == len(set(urns))


def test_parents_are_components_in_the_plan(aws_document: dict[str, Any]) -> None:
    resources = aws_document["resources"]
    components = {r["name"] for r in resources if not r["custom"]}
    urns = {r["urn"]: r for r in resources}
    top_level = [r for r in resources if r["parent"] is None]
    # The tier is the root of the tree.
    assert [r["type"] for r in top_level] == ["llmscale:index:SingleGpuTier"]
    for resource in resources:
        if resource["parent"] is None:
            continue
        assert resource["parent"] in components, resource["name"]
        parent = urns[resource["parentUrn"]]
        assert not parent["custom"]
        assert parent["name"] == resource["parent"]
    # Every cloud resource belongs to the tier's component tree.
    assert all(r["parent"] is not None for r in resources if r["custom"])


def test_counts_sum_to_the_resources(aws_document: dict[str, Any], host_document: dict[str, Any]) -> None:
    for document in (aws_document, host_document):
        resources = document["resources"]
        assert sum(document["counts"].values()) == len(resources)
        assert document["summary"]["resources"] == len(resources)
        assert document["summary"]["customResources"] + document["summary"]["components"] == len(resources)
        for kind, count in document["counts"].items():
            assert count == len(by_type(document, kind))


def test_the_stack_resource_is_never_listed(aws_result: PlanResult, aws_document: dict[str, Any]) -> None:
    assert all(r.type != STACK_TYPE for r in aws_result.resources)
    assert all(r["type"] != STACK_TYPE for r in aws_document["resources"])
    assert STACK_TYPE not in aws_document["counts"]


def test_document_is_json_serialisable(aws_document: dict[str, Any]) -> None:
    assert json.loads(json.dumps(aws_document)) == aws_document


def test_expected_resources(aws_document: dict[str, Any]) -> None:
    counts = aws_document["counts"]
    assert counts["aws:ec2/instance:Instance"] == 1
    assert counts["llmscale:index:SingleGpuHost"] == 1
    # Two secrets (API keys, Hugging Face token) and the bundle's manifest and location.
    assert counts["aws:ssm/parameter:Parameter"] == 4
    (instance,) = by_type(aws_document, "aws:ec2/instance:Instance")
    assert instance["inputs"]["instanceType"] == "g6e.xlarge"
    assert aws_document["stack"] == "single-gpu"
    assert aws_document["tier"] == "single-gpu"
    assert aws_document["platform"] == "aws"
    assert aws_document["region"] == "eu-west-1"


def test_host_stack_has_no_resources(host_document: dict[str, Any]) -> None:
    assert host_document["counts"] == {"llmscale:index:SingleGpuTier": 1, "llmscale:index:StackSettings": 1}
    assert host_document["summary"]["customResources"] == 0
    assert host_document["invokes"] == []
    assert host_document["region"] is None


# --- unknowns --------------------------------------------------------------------------------------------


def test_unknowns_are_shown_as_known_after_apply(aws_document: dict[str, Any]) -> None:
    (instance,) = by_type(aws_document, "aws:ec2/instance:Instance")
    assert instance["inputs"]["ami"] == UNKNOWN_TEXT
    assert instance["inputs"]["subnetId"] == UNKNOWN_TEXT
    assert instance["inputs"]["iamInstanceProfile"] == UNKNOWN_TEXT
    assert instance["inputs"]["vpcSecurityGroupIds"] == [UNKNOWN_TEXT]
    outputs = aws_document["outputs"]
    assert outputs["endpoint"] == UNKNOWN_TEXT
    assert outputs["instanceId"] == UNKNOWN_TEXT
    assert outputs["publicIp"] == UNKNOWN_TEXT
    assert outputs["models"] == ["chat"]


def test_no_invented_ids_or_addresses(aws_document: dict[str, Any]) -> None:
    """Mocks must not make up ids, ARNs of created resources or IP addresses."""
    # The single host's bundle files are rendered text (tested in test_bundle.py); the access log field they
    # document, `user_id`, is no invented id.
    resources = [
        {**r, "inputs": {k: v for k, v in r["inputs"].items() if k != "content"}}
        if r["type"] == "aws:s3/bucketObjectv2:BucketObjectv2"
        else r
        for r in aws_document["resources"]
    ]
    texts = strings(resources) + strings(aws_document["outputs"])
    for text in texts:
        for invented in ("ami-", "subnet-", "vpc-", "sg-", "i-0", "eipalloc-", "igw-", "rtb-"):
            assert not text.startswith(invented), text
        assert "_id" not in text or "known after apply" in text
    assert aws_document["summary"]["unknownValues"] > 0
    assert UNKNOWN_TEXT in json.dumps(aws_document["resources"])


def test_no_raw_unknown_sentinel_in_the_document(aws_document: dict[str, Any]) -> None:
    text = json.dumps(aws_document)
    assert UNKNOWN not in text
    assert "Unknown" not in text


def test_invokes_are_recorded(aws_document: dict[str, Any]) -> None:
    tokens = {i["token"] for i in aws_document["invokes"]}
    assert "aws:ssm/getParameter:getParameter" in tokens


# --- secrets ---------------------------------------------------------------------------------------------


def test_undecryptable_secrets_are_redacted(aws_document: dict[str, Any]) -> None:
    parameters = [
        p for p in by_type(aws_document, "aws:ssm/parameter:Parameter") if p["inputs"]["type"] == "SecureString"
    ]
    assert {p["inputs"]["value"] for p in parameters} == {REDACTED}
    assert aws_document["summary"]["undecryptedSecrets"] == ["llmscale:apiKeys", "llmscale:hfToken"]
    assert "placeholder-set-with-pulumi-config-set-secret" not in json.dumps(aws_document)


def test_known_secret_values_skip_placeholders(aws_result: PlanResult) -> None:
    assert known_secret_values(aws_result) == []


def test_scrub_removes_a_leaked_plain_api_key() -> None:
    stack = loaded_with_secrets({**LEAKY_VALUES, "llmscale:apiKeys": LEAKED_KEY, "llmscale:hfToken": HF_TOKEN})
    result = run_program(stack, leaky_program(LEAKED_KEY, HF_TOKEN))
    assert set(known_secret_values(result)) == {LEAKED_KEY, HF_TOKEN}
    document = plan_document(result)
    text = all_text(document)
    assert LEAKED_KEY not in text
    assert HF_TOKEN not in text
    assert LEAKED_KEY not in render_text(document, details=True)
    (copy, _) = by_type(document, "aws:ssm/parameter:Parameter")
    assert copy["inputs"]["insecureValue"] == f"Authorization: Bearer {REDACTED}"
    assert copy["inputs"]["description"] == REDACTED
    assert copy["inputs"]["tags"]["copy"] == REDACTED
    assert document["outputs"]["leaked-0"] == f"key={REDACTED}"
    assert document["outputs"]["plain"] == ["fine", 1]
    assert [i["args"]["name"] for i in document["invokes"]] == [f"/leak/{REDACTED}"] * 2
    assert document["summary"]["undecryptedSecrets"] == []
    assert document["resources"][0]["type"] == "test:index:Leaky"


def test_scrub_removes_each_key_of_a_json_api_keys_object() -> None:
    """apiKeys is normally a JSON object of client → key: a program copying one key must not leak it either."""
    api_keys = json.dumps({"team-a": LEAKED_KEY, "team-b": OTHER_KEY})
    stack = loaded_with_secrets({**LEAKY_VALUES, "llmscale:apiKeys": api_keys})
    document = plan_document(run_program(stack, leaky_program(api_keys, LEAKED_KEY, OTHER_KEY)))
    text = all_text(document)
    assert api_keys not in text
    assert LEAKED_KEY not in text
    assert OTHER_KEY not in text


def test_real_secrets_in_the_tier_program_are_redacted() -> None:
    """With decrypted secrets (as during `pulumi up`) the real program's plan still shows none of them."""
    api_keys = json.dumps({"team-a": LEAKED_KEY})
    stack = loaded_with_secrets(
        {
            **LEAKY_VALUES,
            "llmscale:apiKeys": api_keys,
            "llmscale:hfToken": HF_TOKEN,
            "llmscale:grafanaAdminPassword": "pw-" + OTHER_KEY,
        }
    )
    document = plan_document(run_program(stack, program))
    text = all_text(document) + render_text(document, details=True)
    for value in (api_keys, LEAKED_KEY, HF_TOKEN, OTHER_KEY):
        assert value not in text
    parameters = [p for p in by_type(document, "aws:ssm/parameter:Parameter") if p["inputs"]["type"] == "SecureString"]
    assert len(parameters) == 3
    assert {p["inputs"]["value"] for p in parameters} == {REDACTED}


# --- determinism -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_plan_is_deterministic(aws_document: dict[str, Any]) -> None:
    """The same stack gives the same document, byte for byte, every time (resource order included)."""
    first = json.dumps(aws_document, indent=2)
    for _ in range(3):
        again = json.dumps(plan("single-gpu"), indent=2)
        assert [r["urn"] for r in json.loads(again)["resources"]] == [r["urn"] for r in aws_document["resources"]]
        assert again == first


def test_text_is_deterministic(aws_document: dict[str, Any]) -> None:
    first = render_text(aws_document, details=True)
    assert render_text(plan("single-gpu"), details=True) == first


def test_run_program_restores_the_callers_event_loop() -> None:
    """Running a plan must not leave the process without the event loop it had (global state is restored)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        run_program(load_stack("single-gpu-host"), program)
        assert asyncio.get_event_loop() is loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


# --- text ------------------------------------------------------------------------------------------------


def test_render_text_names_every_resource(aws_document: dict[str, Any]) -> None:
    text = render_text(aws_document)
    for resource in aws_document["resources"]:
        assert resource["name"] in text
        assert resource["type"] in text
    assert "Resources by type:" in text
    assert "llmscale-single-gpu" in text
    assert f"{len(aws_document['resources'])} resources to create" in text
    assert "llmscale:apiKeys, llmscale:hfToken" in text


def test_render_text_tree_lines(aws_document: dict[str, Any]) -> None:
    lines = render_text(aws_document).splitlines()
    tree = [line for line in lines if line.startswith(" +   ")]
    assert len(tree) == len(aws_document["resources"]) + 1  # plus the stack
    assert STACK_TYPE in tree[0]
    for resource in aws_document["resources"]:
        assert any(resource["type"] in line and line.rstrip().endswith(resource["name"]) for line in tree)


def test_render_text_details_shows_inputs_redacted(aws_document: dict[str, Any]) -> None:
    text = render_text(aws_document, details=True)
    assert "instanceType: g6e.xlarge" in text
    assert f"ami: {UNKNOWN_TEXT}" in text
    assert f"value: {REDACTED}" in text
    assert len(text) > len(render_text(aws_document))


def test_render_text_for_empty_plan(host_document: dict[str, Any]) -> None:
    text = render_text(host_document)
    assert "(0 cloud resources, 2 components)" in text
    assert "llmscale-single-gpu-host" in text
    assert "Encrypted config" not in text


# --- redact ----------------------------------------------------------------------------------------------


def test_redact_secret_wrapped_values() -> None:
    assert redact(secret("hunter2-very-secret")) == REDACTED
    assert redact(secret({"nested": "x"})) == REDACTED
    assert redact({"a": secret("x"), "b": "plain"}) == {"a": REDACTED, "b": "plain"}


def test_redact_a_dict_that_only_looks_secret() -> None:
    assert redact({SECRET_SIG_KEY: "other", "value": "v"}) == {SECRET_SIG_KEY: "other", "value": "v"}


def test_redact_unknowns() -> None:
    assert redact(Unknown()) == UNKNOWN_TEXT
    assert redact(UNKNOWN) == UNKNOWN_TEXT
    assert redact({"id": Unknown(), "ids": [UNKNOWN, "known"]}) == {"id": UNKNOWN_TEXT, "ids": [UNKNOWN_TEXT, "known"]}


def test_redact_nested_lists_and_tuples() -> None:
    value = {"rules": [{"cidrs": ["10.0.0.0/8", Unknown()], "secret": secret("s")}, [1, [secret("t"), 2.0]]]}
    assert redact(value) == {"rules": [{"cidrs": ["10.0.0.0/8", UNKNOWN_TEXT], "secret": REDACTED}, [1, [REDACTED, 2]]]}
    assert redact(("a", secret("b"))) == ["a", REDACTED]


def test_redact_integer_floats_become_ints() -> None:
    assert redact(443.0) == 443
    assert type(redact(443.0)) is int
    assert type(redact([8.0])[0]) is int
    assert redact(0.9) == 0.9
    assert type(redact(0.9)) is float
    assert redact(True) is True
    assert redact(None) is None
    assert redact("text") == "text"


def test_redact_does_not_modify_its_input() -> None:
    value = {"a": [secret("x"), 1.0], "b": Unknown()}
    before = repr(value)
    redact(value)
    assert repr(value) == before
