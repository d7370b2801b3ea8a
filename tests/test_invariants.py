"""Run-time invariants over the objects a stack deploys, after the API server's defaults: each check passes on
every example stack and fires on the defect it exists for (the shapes llmscale itself used to deploy)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from typer.testing import CliRunner

from llmscale.cli import app
from llmscale.k8s import invariants
from llmscale.k8s.defaults import defaulted
from llmscale.plan.render import kubernetes_objects
from llmscale.plan.report import runtime_errors
from tests.resource_types import HELM_RELEASE

KUBERNETES_EXAMPLES = ("multi-gpu", "enterprise", "onprem")
Objects = list[dict[str, Any]]


class Planned:
    """A stack's Kubernetes objects and Helm release inputs, and whether llmscale builds its cluster."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.objects = kubernetes_objects(document)
        self.releases = [r["inputs"] for r in document["resources"] if r["type"] == HELM_RELEASE]
        self.aws = document["platform"] == "aws"

    def problems(
        self, objects: list[dict[str, Any]] | None = None, releases: list[dict[str, Any]] | None = None
    ) -> list[str]:
        return invariants.problems(
            self.objects if objects is None else objects,
            self.releases if releases is None else releases,
            fronted=self.aws,
            cluster_has_default=not self.aws,
        )

    def changed(
        self, kind: str, change: Callable[[dict[str, Any]], Any], name: str | None = None
    ) -> list[dict[str, Any]]:
        """A copy of the objects with every object of a kind (and name) changed."""
        objects = copy.deepcopy(self.objects)
        hits = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
        assert hits, f"no {kind} {name or ''}"
        for obj in hits:
            change(obj)
        return objects


@pytest.fixture(scope="module")
def planned(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Planned]:
    return {stack: Planned(example_plans[stack]) for stack in KUBERNETES_EXAMPLES}


@pytest.fixture(scope="module")
def multi_gpu(planned: dict[str, Planned]) -> Planned:
    return planned["multi-gpu"]


@pytest.mark.parametrize("stack", KUBERNETES_EXAMPLES)
def test_example_stacks_hold_every_invariant(planned: dict[str, Planned], stack: str) -> None:
    assert planned[stack].objects
    assert planned[stack].problems() == []


# --- defaulting like the API server -----------------------------------------------------------------------------


def test_crd_defaults_fill_what_llmscale_leaves_out() -> None:
    policy = {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "BackendTrafficPolicy",
        "metadata": {"name": "chat", "namespace": "llm"},
        "spec": {"healthCheck": {"passive": {"consecutiveGatewayErrors": 10}}, "circuitBreaker": {}},
    }
    stored = defaulted(policy)["spec"]
    assert stored["healthCheck"]["passive"]["consecutive5XxErrors"] == 5
    assert stored["healthCheck"]["passive"]["maxEjectionPercent"] == 10
    assert stored["circuitBreaker"]["maxConnections"] == 1024
    assert "consecutive5XxErrors" not in policy["spec"]["healthCheck"]["passive"]  # the original is untouched


def test_built_in_defaults_that_change_behaviour() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "chat"},
        "spec": {"template": {"spec": {"containers": [{"name": "vllm", "readinessProbe": {"httpGet": {"port": 1}}}]}}},
    }
    stored = defaulted(deployment)["spec"]
    assert stored["template"]["spec"]["terminationGracePeriodSeconds"] == 30
    assert stored["template"]["spec"]["containers"][0]["readinessProbe"]["timeoutSeconds"] == 1
    assert defaulted({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {}})["spec"] == {
        "type": "ClusterIP"
    }
    proxy = {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "EnvoyProxy", "metadata": {"name": "p"}}
    proxy["spec"] = {"provider": {"type": "Kubernetes", "kubernetes": {"envoyService": {}}}}
    assert defaulted(proxy)["spec"]["provider"]["kubernetes"]["envoyService"]["type"] == "LoadBalancer"


# --- each invariant fires on its defect ---------------------------------------------------------------------------


def test_outlier_detection_that_counts_503_is_caught(multi_gpu: Planned) -> None:
    def old(policy: dict[str, Any]) -> None:
        policy["spec"]["healthCheck"]["passive"] = {
            "splitExternalLocalOriginErrors": True,
            "consecutiveLocalOriginFailures": 5,
            "consecutiveGatewayErrors": 10,
            "interval": "10s",
        }

    found = multi_gpu.problems(multi_gpu.changed("BackendTrafficPolicy", old))
    assert any("ejects a replica after 5 consecutive 5xx" in p for p in found)
    assert any("consecutiveGatewayErrors counts vLLM's 503" in p for p in found)


def test_connection_limit_below_parallel_requests_is_caught(multi_gpu: Planned) -> None:
    def old(policy: dict[str, Any]) -> None:
        policy["spec"]["circuitBreaker"] = {"maxParallelRequests": 2304, "maxPendingRequests": 2304}

    found = multi_gpu.problems(multi_gpu.changed("BackendTrafficPolicy", old))
    assert found == [
        "BackendTrafficPolicy/chat: maxConnections 1024 < maxParallelRequests 2304: requests would queue inside Envoy"
    ]


def test_per_replica_connections_below_vllms_admission_limit_are_caught(multi_gpu: Planned) -> None:
    def small(policy: dict[str, Any]) -> None:
        policy["spec"]["circuitBreaker"]["perEndpoint"] = {"maxConnections": 100}

    (found,) = multi_gpu.problems(multi_gpu.changed("BackendTrafficPolicy", small))
    assert found.startswith("BackendTrafficPolicy/chat: perEndpoint.maxConnections 100 < the 384 requests")


def test_grace_period_shorter_than_a_request_is_caught(multi_gpu: Planned) -> None:
    def old(deployment: dict[str, Any]) -> None:
        deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 60

    assert multi_gpu.problems(multi_gpu.changed("Deployment", old)) == [
        "Deployment/chat: terminationGracePeriodSeconds 60 < preStop 10 s + the 600 s request timeout: scale-downs "
        "and rollouts cut streams"
    ]


def test_vllm_that_aborts_on_sigterm_is_caught(multi_gpu: Planned) -> None:
    def old(deployment: dict[str, Any]) -> None:
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        index = args.index("--shutdown-timeout")
        del args[index : index + 2]

    assert multi_gpu.problems(multi_gpu.changed("Deployment", old)) == [
        "Deployment/chat: vLLM drains for 0 s on SIGTERM (--shutdown-timeout), less than the 600 s request timeout: "
        "it aborts requests in flight"
    ]


def test_scale_to_zero_on_the_queue_alone_is_caught(multi_gpu: Planned) -> None:
    def old(scaled: dict[str, Any]) -> None:
        scaled["spec"]["triggers"] = [
            t for t in scaled["spec"]["triggers"] if "num_requests_running" not in t["metadata"].get("query", "")
        ]

    assert multi_gpu.problems(multi_gpu.changed("ScaledObject", old)) == [
        "ScaledObject/chat: may scale to zero while requests are running: no trigger counts "
        "vllm:num_requests_running, so an empty queue looks idle"
    ]


def test_a_floor_above_zero_needs_no_running_trigger(multi_gpu: Planned) -> None:
    def floor(scaled: dict[str, Any]) -> None:
        scaled["spec"]["minReplicaCount"] = 1
        scaled["spec"]["triggers"] = scaled["spec"]["triggers"][:1]

    assert multi_gpu.problems(multi_gpu.changed("ScaledObject", floor)) == []


def test_prometheus_without_a_storage_class_on_eks_is_caught(multi_gpu: Planned) -> None:
    objects = [o for o in multi_gpu.objects if o["kind"] != "StorageClass"]
    releases = copy.deepcopy(multi_gpu.releases)
    stack = next(r for r in releases if r["name"] == "kube-prometheus-stack")
    del stack["values"]["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"][
        "storageClassName"
    ]
    assert multi_gpu.problems(objects, releases) == [
        "Release/kube-prometheus-stack: prometheus volumeClaimTemplate: names no StorageClass and the cluster has no "
        "default one: it would stay Pending"
    ]
    # Naming the class is enough; so is a default class.
    assert multi_gpu.problems(objects) == []
    assert multi_gpu.problems(releases=releases) == []


def test_a_public_gateway_service_on_eks_is_caught(multi_gpu: Planned) -> None:
    def old(gateway: dict[str, Any]) -> None:
        del gateway["spec"]["infrastructure"]

    assert multi_gpu.problems(multi_gpu.changed("Gateway", old)) == [
        "Gateway/llmscale: Envoy Gateway would expose the proxies with a LoadBalancer Service of its own"
    ]


@pytest.mark.parametrize(("text", "value"), [("600s", 600), ("10m", 600), ("1h", 3600), ("250ms", 0.25)])
def test_durations(text: str, value: float) -> None:
    assert invariants.seconds(text) == value


# --- in the offline plan ----------------------------------------------------------------------------------------


def test_plan_documents_report_run_time_problems_per_cluster(example_plans: Mapping[str, dict[str, Any]]) -> None:
    document = example_plans["enterprise"]
    assert document["runtimeErrors"] == []
    # Both clusters hold a ScaledObject named chat: each cluster is checked on its own, and reported once.
    doubled = copy.deepcopy(document)
    for resource in doubled["resources"]:
        if resource["type"].endswith(":BackendTrafficPolicy"):
            resource["inputs"]["spec"]["circuitBreaker"]["maxConnections"] = 1
    assert runtime_errors(doubled["resources"], "aws") == [
        "BackendTrafficPolicy/analysis: maxConnections 1 < maxParallelRequests 576: requests would queue inside Envoy",
        "BackendTrafficPolicy/chat: maxConnections 1 < maxParallelRequests 4608: requests would queue inside Envoy",
    ]


def test_plan_exits_1_and_lists_run_time_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invariants, "problems", lambda *args, **kwargs: ["Deployment/chat: would be cut"])
    result = CliRunner().invoke(app, ["plan", "onprem", "--json"])
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["runtimeErrors"] == ["Deployment/chat: would be cut"]
    assert "Run-time problems (1)" in result.stderr
