"""On-demand prices and a stack's monthly GPU cost: the table, its sources, and what the plan and `size` show.

The figures are checked against the source's own values for a few types (us-east-1 and GovCloud), the
arithmetic against hand-computed months, and the plan's `cost` against the same function the stack comment
uses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pytest
from typer.testing import CliRunner

from llmscale.cli import app
from llmscale.config.loader import load_stack, parse_values
from llmscale.plan.markdown import plan_markdown
from llmscale.plan.report import render_text
from llmscale.sizing import catalog
from llmscale.sizing.cost import stack_cost, stack_gpu_price
from llmscale.sizing.fleet import HOURS_PER_MONTH, schedule_hours
from llmscale.sizing.prices import (
    BASE_REGION,
    ON_DEMAND_PER_HOUR,
    PRICES_AS_OF,
    instance_price,
    on_demand_gpu_price,
    stated_gpu_price,
)

SECRETS = {"llmscale:apiKeys"}


def test_every_catalogued_type_has_a_base_price() -> None:
    assert set(ON_DEMAND_PER_HOUR[BASE_REGION]) == set(catalog.INSTANCE_TYPES)
    assert all(price > 0 for table in ON_DEMAND_PER_HOUR.values() for price in table.values())
    assert set(ON_DEMAND_PER_HOUR) == {"us-east-1", "us-gov-east-1", "us-gov-west-1"}
    assert PRICES_AS_OF == "2026-07-20"


@pytest.mark.parametrize(
    ("instance_type", "region", "per_hour"),
    [
        # aws/karpenter-provider-aws pkg/providers/pricing/zz_generated.pricing_aws.go at 6fc13b5
        ("g6e.xlarge", "us-east-1", 1.861),
        ("g5.xlarge", "us-east-1", 1.006),
        ("p5.48xlarge", "us-east-1", 55.04),
        # ... and zz_generated.pricing_aws_us_gov.go
        ("g6.xlarge", "us-gov-west-1", 1.0144),
        ("p5.48xlarge", "us-gov-west-1", 66.048),
    ],
)
def test_figures_are_the_sources(instance_type: str, region: str, per_hour: float) -> None:
    assert instance_price(instance_type, region) == (per_hour, region)


def test_an_instance_is_split_over_its_gpus() -> None:
    price = on_demand_gpu_price("p5.48xlarge")
    assert price is not None and price.per_gpu_hour == pytest.approx(55.04 / 8)
    assert "p5.48xlarge on-demand in us-east-1" in price.source and "karpenter-provider-aws" in price.source


def test_accelerator_names_price_as_their_smallest_instance() -> None:
    assert on_demand_gpu_price("L40S") == on_demand_gpu_price("g6e.xlarge")
    assert on_demand_gpu_price("A10G") == on_demand_gpu_price("g5.xlarge")


def test_a_region_without_its_own_figure_says_which_it_used() -> None:
    price = on_demand_gpu_price("g6e.xlarge", "eu-west-1")
    assert price is not None and price.region == "us-east-1"
    assert "used for eu-west-1, which has no figure here" in price.source
    gov = on_demand_gpu_price("g6.xlarge", "us-gov-east-1")
    assert gov is not None and gov.region == "us-gov-east-1" and gov.per_gpu_hour == 1.0144


def test_node_types_without_a_figure_have_no_price() -> None:
    assert on_demand_gpu_price("onprem.l40s-x4") is None
    assert instance_price("onprem.l40s-x4") is None


# --- a stack's month ---------------------------------------------------------------------------------------


def config_of(values: dict[str, Any]) -> tuple[Any, str | None]:
    return parse_values(values, SECRETS, "test")


def single_host(**gpu: Any) -> dict[str, Any]:
    return {
        "aws:region": "us-east-1",
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "aws",
        "llmscale:apiKeys": "[secret]",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
        "llmscale:gpu": {"instanceType": "g6e.xlarge", **gpu},
    }


def test_a_single_host_runs_in_the_window_only() -> None:
    config, region = config_of(single_host())
    cost = stack_cost(config, region)
    hours = schedule_hours(config.schedule)
    assert cost.price_per_gpu_hour == 1.861
    assert cost.monthly_always_on == pytest.approx(1.861 * HOURS_PER_MONTH)
    assert cost.monthly_with_schedule == pytest.approx(1.861 * hours)
    assert cost.to_json()["currency"] == "USD"
    assert set(cost.to_json()) == {"currency", "pricePerGpuHour", "monthlyAlwaysOn", "monthlyWithSchedule", "source"}


def test_a_stated_price_wins() -> None:
    config, region = config_of(single_host(pricePerGpuHour=0.9))
    assert stack_gpu_price(config, region) == stated_gpu_price(0.9)
    assert stack_cost(config, region).monthly_always_on == pytest.approx(0.9 * HOURS_PER_MONTH)
    assert "gpu.pricePerGpuHour" in stack_cost(config, region).source


def test_an_existing_server_has_no_price_unless_stated() -> None:
    values = {**single_host(), "llmscale:platform": "host"}
    del values["llmscale:host"], values["aws:region"]
    config, region = config_of(values)
    cost = stack_cost(config, region)
    assert cost.monthly_always_on is None and "gpu.pricePerGpuHour" in cost.source
    priced, _ = config_of({**values, "llmscale:gpu": {"instanceType": "g6e.xlarge", "pricePerGpuHour": 2.0}})
    assert stack_cost(priced, None).monthly_always_on == pytest.approx(2.0 * HOURS_PER_MONTH)


def test_a_cluster_pays_whole_nodes_at_its_maximum_and_its_floor_at_night() -> None:
    values = {
        "llmscale:tier": "multi-gpu",
        "llmscale:platform": "kubernetes",
        "llmscale:apiKeys": "[secret]",
        "llmscale:gpu": {"instanceType": "g6e.12xlarge"},  # 4 GPUs per node
        "llmscale:models": [
            {"name": "chat", "model": "org/chat-8b", "minReplicas": 2, "maxReplicas": 5},
            {"name": "big", "model": "org/big-70b", "gpusPerReplica": 4, "minReplicas": 1, "maxReplicas": 2},
        ],
        "llmscale:schedule": {"offHoursMinReplicas": 1},
    }
    config, _ = config_of(values)
    cost = stack_cost(config, None)
    per_gpu = 10.49264 / 4
    hours = schedule_hours(config.schedule)
    peak_nodes = math.ceil(5 / 4) + 2  # chat: 5 replicas on 4-GPU nodes; big: one replica per node
    night_nodes = 1 + 1  # one replica of each at night
    assert cost.price_per_gpu_hour == pytest.approx(per_gpu)
    assert cost.monthly_always_on == pytest.approx(peak_nodes * 4 * per_gpu * HOURS_PER_MONTH)
    assert cost.monthly_with_schedule == pytest.approx(
        (peak_nodes * hours + night_nodes * (HOURS_PER_MONTH - hours)) * 4 * per_gpu
    )


def test_a_warm_standby_adds_its_minimum_at_its_regions_price() -> None:
    values = {
        "aws:region": "us-gov-west-1",
        "llmscale:tier": "enterprise",
        "llmscale:platform": "aws",
        "llmscale:apiKeys": "[secret]",
        "llmscale:gpu": {"instanceType": "g6.xlarge"},
        "llmscale:eks": {"publicAccessCidrs": ["203.0.113.0/24"]},
        "llmscale:models": [{"name": "chat", "model": "org/chat-8b", "minReplicas": 3, "maxReplicas": 6}],
        "llmscale:schedule": {"enabled": False},
        "llmscale:failover": {
            "hostedZoneId": "Z0123456789ABCDEFGHIJ",
            "recordName": "llm.example.com",
            "standbyRegion": "us-gov-east-1",
            "standbyMinReplicas": 2,
        },
    }
    config, region = config_of(values)
    cost = stack_cost(config, region)
    expected = (6 * 1.0144 + 2 * 1.0144) * HOURS_PER_MONTH  # both GovCloud regions price g6.xlarge alike
    assert cost.monthly_always_on == pytest.approx(expected)
    assert cost.monthly_with_schedule == pytest.approx(expected)
    assert "2 x g6.xlarge warm in us-gov-east-1" in cost.source


# --- where people see it -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def enterprise_plan(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return example_plans["enterprise"]


def test_the_plan_document_text_and_comment_carry_the_cost(enterprise_plan: dict[str, Any]) -> None:
    loaded = load_stack("enterprise")
    assert enterprise_plan["cost"] == stack_cost(loaded.config, loaded.region).to_json()
    always = f"{enterprise_plan['cost']['monthlyAlwaysOn']:,.0f}"
    assert f"Monthly GPU cost: ${always} always on" in render_text(enterprise_plan)
    assert f"Monthly GPU cost: \\${always} always on" in plan_markdown(enterprise_plan)


def test_a_plan_without_a_price_says_why(example_plans: Mapping[str, dict[str, Any]]) -> None:
    document = example_plans["onprem"]
    assert document["cost"]["monthlyAlwaysOn"] is None
    assert "Monthly GPU cost: unknown (no on-demand price for onprem.l40s-x4" in render_text(document)


def size(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["size", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_size_prices_the_gpu_it_sizes() -> None:
    assert size("--gpu", "g5.xlarge", "--model", "3b")["monthlyCost"]["pricePerGpuHour"] == 1.006
    assert size("--gpu", "L40S")["monthlyCost"]["pricePerGpuHour"] == 1.861
    gov = size("--gpu", "g6.xlarge", "--model", "1b", "--region", "us-gov-west-1")["monthlyCost"]
    assert gov["pricePerGpuHour"] == 1.0144 and "us-gov-west-1" in gov["source"]
    assert (
        size("--gpu", "g6.xlarge", "--model", "1b", "--price-per-gpu-hour", "2")["monthlyCost"]["pricePerGpuHour"] == 2
    )
