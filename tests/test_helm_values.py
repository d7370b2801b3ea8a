"""Tests for llmscale.k8s.helm_values: every values key llmscale sets exists in the chart it pins.

Helm drops a values key no template reads without a word, so a misspelt key installs cleanly and runs the
chart's default. Every example stack is planned, and the values of each Helm release it registers are checked
against the vendored defaults of the (chart, version) it pins; a pin without vendored defaults fails.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale import versions
from llmscale.config.loader import LoadedStack, parse_values, read_stack_file
from llmscale.k8s.helm_values import (
    FREE_FORM,
    HELM_DIR,
    ChartNotVendoredError,
    app_version,
    chart_defaults,
    chart_metadata,
    chart_name,
    unknown_keys,
    vendored_charts,
)
from llmscale.k8s.monitoring import monitoring_releases
from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.recorder import is_secret
from llmscale.plan.runner import PlanResult, run_program
from llmscale.program import main as program
from tests.helpers import EXAMPLE_STACKS
from tests.resource_types import HELM_RELEASE

ENTERPRISE_FILE = PACKAGE_ROOT / "stacks" / "Pulumi.enterprise.yaml"
ONPREM_FILE = PACKAGE_ROOT / "stacks" / "Pulumi.onprem.yaml"
KEYS = {"llmscale:apiKeys": '{"team": "sk-0123456789abcdef0123"}', "llmscale:hfToken": "hf_0123456789abcdef"}
PINNED_CHARTS = [
    *(value for value in vars(versions).values() if isinstance(value, versions.HelmChart)),
    versions.EKS_RELEASES[versions.DEFAULT_KUBERNETES_VERSION].autoscaler_chart,
]
SOURCES = HELM_DIR / "SOURCES.md"


@dataclass(frozen=True)
class Release:
    """One Helm release as the program registers it: where from, which chart and version, which values."""

    stack: str
    name: str
    chart: str
    version: str
    values: dict[str, Any]

    def problems(self) -> list[str]:
        """`stack/release (chart version): key` for each key the chart does not have."""
        return [
            f"{self.stack}/{self.name} ({chart_name(self.chart)} {self.version}): {key}"
            for key in unknown_keys(self.chart, self.version, self.values)
        ]


def reveal(value: Any) -> Any:
    """A recorded input with Pulumi secrets unwrapped: their keys must be checked like any other."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def releases_of(result: PlanResult) -> list[Release]:
    releases = []
    for resource in result.resources:
        if resource.type != HELM_RELEASE:
            continue
        inputs = reveal(resource.inputs)
        assert isinstance(inputs.get("values"), dict), f"{resource.name}: values unknown in the plan"
        releases.append(Release(result.stack.name, resource.name, inputs["chart"], inputs["version"], inputs["values"]))
    return releases


def stack_with_secrets(stack_file: Path, secrets: dict[str, str]) -> LoadedStack:
    """A stack file's config with its secrets set in plain text, as `pulumi up` hands them to the program."""
    values, secret_keys, _ = read_stack_file(stack_file)
    values.update(secrets)
    secret_keys |= set(secrets)
    config, region = parse_values(values, secret_keys, str(stack_file))
    name = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    return LoadedStack(
        name=name,
        source=str(stack_file),
        config=config,
        region=region,
        pulumi_config={k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()},
        secret_keys=frozenset(secret_keys),
        undecryptable=frozenset(),
    )


def release(releases: list[Release], chart: str) -> Release:
    return next(r for r in releases if chart_name(r.chart) == chart)


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def example_releases(example_runs: Mapping[str, PlanResult]) -> list[Release]:
    """Every Helm release of every example stack, planned as `llmscale plan` does (secrets undecrypted)."""
    return [r for stack in EXAMPLE_STACKS for r in releases_of(example_runs[stack])]


@pytest.fixture(scope="session")
def alerting_releases() -> list[Release]:
    """The enterprise stack with alert receivers and a Grafana password: the values keys only secrets bring."""
    secrets = {
        **KEYS,
        "llmscale:slackWebhookUrl": "https://hooks.slack.com/services/T000/B000/XXXX",
        "llmscale:pagerdutyRoutingKey": "0123456789abcdef0123456789abcdef",
        "llmscale:grafanaAdminPassword": "correct-horse-battery-staple",
    }
    return releases_of(run_program(stack_with_secrets(ENTERPRISE_FILE, secrets), program))


# --- what llmscale sets ----------------------------------------------------------------------------------


def test_example_stacks_release_every_pinned_chart(example_releases: list[Release]) -> None:
    released = {(chart_name(r.chart), r.version) for r in example_releases}
    pinned = {(chart_name(c.chart), c.version) for c in PINNED_CHARTS}
    assert released == pinned


def test_no_example_release_sets_a_key_its_chart_does_not_have(example_releases: list[Release]) -> None:
    assert example_releases
    assert [problem for r in example_releases for problem in r.problems()] == []


def test_alert_receivers_and_grafana_admin_keys_exist(alerting_releases: list[Release]) -> None:
    stack = release(alerting_releases, "kube-prometheus-stack")
    assert {r["name"] for r in stack.values["alertmanager"]["config"]["receivers"]} == {"null", "pager", "chat"}
    assert stack.values["grafana"]["admin"]["existingSecret"]
    assert [problem for r in alerting_releases for problem in r.problems()] == []


def test_monitoring_values_with_a_storage_class_exist() -> None:
    stack = stack_with_secrets(ONPREM_FILE, {**KEYS, "llmscale:grafanaAdminPassword": "correct-horse-battery"})
    monitoring = stack.config.monitoring.model_copy(update={"storage_class": "gp3"})
    config = stack.config.model_copy(update={"monitoring": monitoring})
    releases = monitoring_releases(config)
    assert {r.name for r in releases} == {"kube-prometheus-stack", "dcgm-exporter"}
    spec = releases[0].values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert spec["storageClassName"] == "gp3"
    for r in releases:
        assert unknown_keys(r.chart.chart, r.chart.version, r.values) == [], r.name


def test_cluster_autoscaler_values_fit_every_vendored_chart(example_releases: list[Release]) -> None:
    """The keys llmscale sets exist in each candidate chart, so the pin can move to the matching minor."""
    autoscaler = release(example_releases, "cluster-autoscaler")
    candidates = [version for chart, version in vendored_charts() if chart == "cluster-autoscaler"]
    assert len(candidates) >= 2
    for version in candidates:
        assert unknown_keys("cluster-autoscaler", version, autoscaler.values) == [], version


# --- what the check catches ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chart", "path", "value"),
    [
        ("kube-prometheus-stack", ("prometheus", "prometheusSpec", "retentionn"), "15d"),
        ("kube-prometheus-stack", ("prometheus", "prometheusSpec", "podMonitorSelectorNilUsesHelmValue"), False),
        # grafana's own keys come from its vendored subchart, not from kube-prometheus-stack's section for it.
        ("kube-prometheus-stack", ("grafana", "sidecar", "dashboards", "searchNamespaces"), "ALL"),
        ("dcgm-exporter", ("serviceMonitors",), {"enabled": False}),
        ("nvidia-device-plugin", ("priorityClass",), "system-node-critical"),
        ("cluster-autoscaler", ("autoDiscovery", "cluster"), "llmscale"),
        ("cluster-autoscaler", ("rbac", "serviceaccount"), {"create": True}),
        ("keda", ("operator", "replicaz"), 2),
        ("gateway-helm", ("deployment", "envoyGateway", "imag"), {"tag": "v1.9.0"}),
    ],
)
def test_a_misspelt_key_is_caught(
    example_releases: list[Release], chart: str, path: tuple[str, ...], value: Any
) -> None:
    pinned = release(example_releases, chart)
    values = copy.deepcopy(pinned.values)
    node = values
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    assert unknown_keys(pinned.chart, pinned.version, values) == [".".join(path)]


def test_keys_of_the_grafana_subchart_are_known() -> None:
    """kube-prometheus-stack's own grafana section does not list persistence; the grafana chart does."""
    parent = yaml.safe_load((HELM_DIR / "kube-prometheus-stack" / "88.2.0" / "values.yaml").read_text(encoding="utf-8"))
    assert "persistence" not in parent["grafana"]
    values = {"grafana": {"persistence": {"enabled": True, "size": "10Gi"}, "grafana.ini": {"server": {"x": 1}}}}
    assert unknown_keys("kube-prometheus-stack", "88.2.0", values) == []


def test_the_subchart_vendored_is_the_version_the_parent_depends_on() -> None:
    dependencies = {d["name"]: d for d in chart_metadata("kube-prometheus-stack", "88.2.0")["dependencies"]}
    grafana = yaml.safe_load(
        (HELM_DIR / "kube-prometheus-stack" / "88.2.0" / "charts" / "grafana" / "Chart.yaml").read_text(
            encoding="utf-8"
        )
    )
    assert grafana["version"] == dependencies["grafana"]["version"] == "12.10.4"


def test_a_subchart_of_another_version_is_refused(tmp_path: Path) -> None:
    shutil.copytree(HELM_DIR / "kube-prometheus-stack", tmp_path / "kube-prometheus-stack")
    chart_file = tmp_path / "kube-prometheus-stack" / "88.2.0" / "charts" / "grafana" / "Chart.yaml"
    chart_file.write_text(chart_file.read_text(encoding="utf-8").replace("version: 12.10.4", "version: 12.9.0"))
    with pytest.raises(ChartNotVendoredError, match=r"grafana 12\.9\.0.*grafana 12\.10\.4"):
        unknown_keys("kube-prometheus-stack", "88.2.0", {}, root=tmp_path)


@pytest.mark.parametrize(
    ("chart", "version", "values"),
    [
        ("nvidia-device-plugin", "0.20.0", {"nodeSelector": {"anything.example.com/pool": "gpu"}}),
        ("nvidia-device-plugin", "0.20.0", {"podAnnotations": {"example.com/owner": "ml"}}),
        ("kube-prometheus-stack", "88.2.0", {"prometheus": {"prometheusSpec": {"storageSpec": {"emptyDir": {}}}}}),
        ("kube-prometheus-stack", "88.2.0", {"alertmanager": {"config": {"time_intervals": [], "route": {"x": 1}}}}),
        ("cluster-autoscaler", "9.38.0", {"extraArgs": {"max-node-provision-time": "15m"}}),
        ("cluster-autoscaler", "9.38.0", {"autoDiscovery": {"clusterName": "a", "tags": ["k8s.io/x"]}}),
        # Lists are replaced whole by Helm: keys inside their items are content, not values keys.
        ("dcgm-exporter", "4.8.2", {"tolerations": [{"key": "k", "operator": "Exists", "anything": 1}]}),
    ],
)
def test_free_form_maps_and_lists_take_any_key(chart: str, version: str, values: dict[str, Any]) -> None:
    assert unknown_keys(chart, version, values) == []


def test_keys_under_a_scalar_default_are_unknown() -> None:
    values = {"prometheus": {"prometheusSpec": {"retention": {"days": 15}}}}
    assert unknown_keys("kube-prometheus-stack", "88.2.0", values) == ["prometheus.prometheusSpec.retention.days"]


def test_free_form_maps_are_maps_in_the_chart_defaults() -> None:
    """Each documented free-form map exists in every vendored version of its chart, so the list stays true."""
    for chart, version in vendored_charts():
        for path in FREE_FORM.get(chart, frozenset()):
            node: Any = chart_defaults(chart, version).values
            for key in path:
                node = node[key]
            assert isinstance(node, dict), (chart, version, path)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_default_key_is_known_and_a_new_sibling_is_not(data: st.DataObject) -> None:
    chart, version = data.draw(st.sampled_from(vendored_charts()))
    defaults = chart_defaults(chart, version)
    maps = sorted(_map_paths(defaults.values, ()))
    path = data.draw(st.sampled_from(maps))
    values: dict[str, Any] = {}
    node = values
    for key in path:
        node = node.setdefault(key, {})
    assert unknown_keys(chart, version, values) == []
    parent = _get(defaults.values, path)
    free = parent == {} or any(path[:depth] in defaults.free_form for depth in range(1, len(path) + 1))
    opaque = any(path[: len(where)] == where for where in defaults.opaque)
    if not free and not opaque:
        node["zzUnknownKey"] = 1
        assert unknown_keys(chart, version, values) == [".".join((*path, "zzUnknownKey"))]


def _map_paths(node: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if not isinstance(node, dict):
        return []
    return [path, *(p for key, value in node.items() for p in _map_paths(value, (*path, str(key))))]


def _get(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


# --- unvendored charts fail loudly -----------------------------------------------------------------------


def test_a_release_of_a_chart_version_without_vendored_values_fails(example_releases: list[Release]) -> None:
    pinned = release(example_releases, "cluster-autoscaler")
    bumped = Release(pinned.stack, pinned.name, pinned.chart, "9.99.0", pinned.values)
    with pytest.raises(ChartNotVendoredError, match=r"cluster-autoscaler 9\.99\.0: no vendored defaults.*SOURCES\.md"):
        bumped.problems()


def test_a_release_of_an_unknown_chart_fails() -> None:
    with pytest.raises(ChartNotVendoredError, match=r"Helm chart karpenter 1\.0\.0"):
        unknown_keys("oci://public.ecr.aws/karpenter/karpenter", "1.0.0", {})


def test_keys_under_an_unvendored_subchart_fail_loudly() -> None:
    with pytest.raises(ChartNotVendoredError, match=r"kube-state-metrics\.zz.*subchart kube-state-metrics 8\.2\.0"):
        unknown_keys("kube-prometheus-stack", "88.2.0", {"kube-state-metrics": {"zz": 1}})
    with pytest.raises(ChartNotVendoredError, match=r"nfd\.worker\.zz.*node-feature-discovery 0\.19\.0"):
        unknown_keys("nvidia-device-plugin", "0.20.0", {"nfd": {"worker": {"zz": 1}}})


def test_keys_the_parent_sets_for_an_unvendored_subchart_are_known() -> None:
    assert (
        unknown_keys("nvidia-device-plugin", "0.20.0", {"nfd": {"enabled": True, "worker": {"tolerations": []}}}) == []
    )


def test_every_pinned_chart_is_vendored() -> None:
    for chart in PINNED_CHARTS:
        metadata = chart_metadata(chart.chart, chart.version)
        assert (metadata["name"], str(metadata["version"])) == (chart_name(chart.chart), chart.version)
        assert app_version(chart.chart, chart.version)


# --- values.schema.json ----------------------------------------------------------------------------------

SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "image": {"$ref": "#/definitions/image"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "ports": {"type": "object", "patternProperties": {"^port-[a-z]+$": {"type": "integer"}}},
    },
    "definitions": {"image": {"type": "object", "properties": {"digest": {"type": "string"}}}},
}


def schema_chart(tmp_path: Path) -> Path:
    chart = tmp_path / "demo" / "1.0.0"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: 2.0.0\n")
    (chart / "values.yaml").write_text(
        "image:\n  repository: demo\n  tag: ''\nlabels:\n  team: x\nports:\n  port-http: 80\n"
    )
    (chart / "values.schema.json").write_text(json.dumps(SCHEMA))
    return tmp_path


@pytest.mark.parametrize(
    ("values", "unknown"),
    [
        ({"image": {"digest": "sha256:0", "repository": "r"}}, []),
        ({"labels": {"owner": "ml"}}, []),
        ({"ports": {"port-grpc": 81}}, []),
        ({"ports": {"grpc": 81}}, ["ports.grpc"]),
        ({"image": {"digets": "sha256:0"}}, ["image.digets"]),
        ({"imagee": {}}, ["imagee"]),
    ],
)
def test_a_values_schema_declares_keys(tmp_path: Path, values: dict[str, Any], unknown: list[str]) -> None:
    assert unknown_keys("demo", "1.0.0", values, root=schema_chart(tmp_path)) == unknown


# --- the vendored files ----------------------------------------------------------------------------------


def test_sources_lists_every_vendored_file_with_its_digest() -> None:
    rows = re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", SOURCES.read_text(encoding="utf-8"), re.MULTILINE)
    listed = dict(rows)
    files = {str(p.relative_to(HELM_DIR)) for p in HELM_DIR.rglob("*") if p.is_file() and p.name != "SOURCES.md"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((HELM_DIR / name).read_bytes()).hexdigest() == digest, name


def test_envoy_gateway_values_are_the_released_form() -> None:
    """values.tmpl.yaml rendered as the v1.9.0 release workflow does: image and pull policy filled in."""
    text = (HELM_DIR / "gateway-helm" / "v1.9.0" / "values.yaml").read_text(encoding="utf-8")
    assert "${" not in text
    images = yaml.safe_load(text)["global"]["images"]["envoyGateway"]
    assert images["image"] == "docker.io/envoyproxy/gateway:v1.9.0"
    assert images["pullPolicy"] == "IfNotPresent"
    assert app_version("oci://docker.io/envoyproxy/gateway-helm", "v1.9.0") == "v1.9.0"


def test_chart_name_of_each_reference_form() -> None:
    assert chart_name("oci://docker.io/envoyproxy/gateway-helm") == "gateway-helm"
    assert chart_name("prometheus-community/kube-prometheus-stack") == "kube-prometheus-stack"
    assert chart_name("keda") == "keda"
