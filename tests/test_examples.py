"""The example program in examples/: an infra team's own Pulumi program that builds an EnterpriseTier in code."""

from __future__ import annotations

import dataclasses
import json
import runpy
from pathlib import Path

import pytest
import yaml

from llmscale.config.loader import load_stack
from llmscale.plan.recorder import SECRET_SIG_KEY, SECRET_SIG_VALUE
from llmscale.plan.report import plan_document
from llmscale.plan.runner import PlanResult, run_program
from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "enterprise-in-code"
KEY = "k-0123456789abcdef0123456789"
KEYS = json.dumps({"chat-app": KEY})


def run_example(config: dict[str, str]) -> PlanResult:
    """The example's __main__.py under the recording mocks, as stack `dev` of its own project."""
    stack = dataclasses.replace(
        load_stack("enterprise"),
        name="dev",
        pulumi_config=config,
        secret_keys=frozenset(key for key in config if key.endswith(":apiKeys")),
    )
    return run_program(stack, lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__"))


@pytest.fixture(scope="module")
def example() -> PlanResult:
    return run_example({"aws:region": "eu-west-1", "llmscale:apiKeys": KEYS})


def test_the_example_is_a_pulumi_project_of_its_own() -> None:
    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["runtime"]["name"] == "python"
    assert project["name"] != "llmscale"
    assert "llmscale" in (EXAMPLE / "requirements.txt").read_text(encoding="utf-8").split()


def test_the_example_builds_one_enterprise_tier_with_everything_under_it(example: PlanResult) -> None:
    (tier,) = [r for r in example.resources if r.type == "llmscale:index:EnterpriseTier"]
    assert tier.name == "acme-llm"
    assert [r for r in example.resources if r.parent in (None, "")] == []  # the stack resource is not recorded
    assert {r.parent for r in example.resources if r.parent != tier.parent} <= {r.urn for r in example.resources}
    roots = [r for r in example.resources if r.parent == tier.parent]
    assert roots == [tier]


def test_the_example_builds_both_regions_the_store_and_failover(example: PlanResult) -> None:
    by_type: dict[str, list[str]] = {}
    for resource in example.resources:
        by_type.setdefault(resource.type, []).append(resource.name)
    assert sorted(by_type["aws:eks/cluster:Cluster"]) == ["acme-llm-eks-cluster", "acme-llm-standby-eks-cluster"]
    assert "acme-llm-models-bucket" in by_type["aws:s3/bucket:Bucket"]
    assert by_type["llmscale:index:DnsFailover"] == ["acme-llm-failover"]
    # The profile's replicas as written in code, the enterprise preset for what the code leaves out.
    (deployment,) = [r for r in example.resources if r.name == "acme-llm-chat-deployment"]
    assert deployment.inputs["spec"]["replicas"] == 3
    (settings,) = [r for r in example.resources if r.type == "llmscale:index:StackSettings"]
    assert settings.inputs["environment"] == "production"
    assert example.outputs["llmEndpoint"] == "https://llm.acme.example"
    assert set(example.outputs["llmBaseUrls"]) == {"chat"}


def test_the_example_keeps_its_api_keys_secret(example: PlanResult) -> None:
    """The keys reach the gateways' Secrets only as Pulumi secrets: the plan shows them redacted."""
    (secret,) = [r for r in example.resources if r.name == "acme-llm-gateway-api-keys"]
    assert secret.inputs["stringData"][SECRET_SIG_KEY] == SECRET_SIG_VALUE
    assert KEY not in json.dumps(plan_document(example))


def test_the_example_without_a_region_stops_before_registering_anything() -> None:
    with pytest.raises(Exception, match="aws:region"):
        run_example({"llmscale:apiKeys": KEYS})


def test_the_readme_snippet_builds_the_same_tier(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use the tiers from your own program", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) <= 10
    snippet = tmp_path / "snippet.py"
    snippet.write_text(code, encoding="utf-8")
    stack = dataclasses.replace(
        load_stack("enterprise"), name="dev", pulumi_config={"llmscale:apiKeys": KEYS}, secret_keys=frozenset()
    )
    result = run_program(stack, lambda: runpy.run_path(str(snippet), run_name="__main__"))
    (tier,) = [r for r in result.resources if r.type == "llmscale:index:EnterpriseTier"]
    assert tier.name == "acme-llm"
    assert result.outputs["llmEndpoint"] == "https://llm.acme.io"
