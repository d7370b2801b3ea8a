"""Kubernetes objects as the API server stores them: with the defaults it fills in before any controller reads them.

Semantic checks must reason about what the cluster will run, not about what llmscale wrote: a field left out is
not "unset" for Envoy Gateway or the kubelet, it is its default. Custom resources get the defaults of their
vendored CRDs' structural schemas (`llmscale.k8s.schema.with_crd_defaults`); built-in kinds get the defaults
that change behaviour, from Kubernetes `pkg/apis/core/v1/defaults.go` (`SetDefaults_PodSpec`,
`SetDefaults_Probe`, `SetDefaults_Service`) and `pkg/apis/apps/v1/defaults.go` (`SetDefaults_Deployment`).
"""

from __future__ import annotations

from typing import Any

from llmscale.k8s.schema import with_crd_defaults

Manifest = dict[str, Any]

DEFAULT_TERMINATION_GRACE_SECONDS = 30
PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def _pod_spec(spec: Manifest) -> None:
    spec.setdefault("terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_SECONDS)
    spec.setdefault("restartPolicy", "Always")
    for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in container:
                for key, value in PROBE_DEFAULTS.items():
                    container[probe].setdefault(key, value)


def defaulted(obj: Manifest) -> Manifest:
    """A copy of `obj` with the defaults the API server would apply."""
    result = with_crd_defaults(obj)
    kind, spec = result.get("kind"), result.get("spec")
    if not isinstance(spec, dict):
        return result
    if kind in POD_TEMPLATE_KINDS:
        template = spec.setdefault("template", {}).setdefault("spec", {})
        _pod_spec(template)
    if kind == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault(
            "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
        )
    if kind == "Service":
        spec.setdefault("type", "ClusterIP")
    return result


def defaulted_all(objects: list[Manifest]) -> list[Manifest]:
    """Every object of a stack, defaulted."""
    return [defaulted(obj) for obj in objects]
