"""Tests for llmscale.k8s.schema: built-in kinds via kubernetes-validate, custom resources via the vendored CRDs.

Every valid example is a realistic manifest of the kind llmscale renders; every invalid one is a single mistake
on top of a valid example, so a failure points at exactly one rule.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from llmscale import versions
from llmscale.k8s.schema import (
    CRD_DIR,
    CRD_FILES,
    KUBERNETES_VERSION,
    MAX_MESSAGE_CHARS,
    openapi_to_json_schema,
    validate_object,
    validate_objects,
)

NS = "llm"


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "labels": {"app.kubernetes.io/name": name}, **extra}


DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": meta("chat", annotations={"llmscale.dev/model": "meta-llama/Llama-3.1-8B-Instruct"}),
    "spec": {
        "replicas": 2,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "selector": {"matchLabels": {"app.kubernetes.io/name": "chat"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "chat"}},
            "spec": {
                "serviceAccountName": "chat",
                "priorityClassName": "llm-serving",
                "terminationGracePeriodSeconds": 120,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "nodeSelector": {"nvidia.com/gpu.present": "true"},
                "containers": [
                    {
                        "name": "vllm",
                        "image": "vllm/vllm-openai:v0.33.0",
                        "args": ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--port", "8000"],
                        "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
                        "env": [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}}],
                        "resources": {
                            "requests": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": 1},
                            "limits": {"memory": "32Gi", "nvidia.com/gpu": 1},
                        },
                        "startupProbe": {"httpGet": {"path": "/health", "port": "http"}, "failureThreshold": 120},
                        "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}, "periodSeconds": 10},
                        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 5},
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": False,
                        },
                        "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
                    }
                ],
                "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}],
            },
        },
    },
}

BUILTINS: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"team": "ml"}}},
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("chat")},
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta("chat"),
        "spec": {
            "selector": {"app.kubernetes.io/name": "chat"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    },
    {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta("chat"),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "chat"}}},
    },
    {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "llm-serving"},
        "value": 100000,
        "preemptionPolicy": "PreemptLowerPriority",
        "description": "LLM serving pods",
    },
    {"apiVersion": "v1", "kind": "Secret", "metadata": meta("hf"), "type": "Opaque", "stringData": {"token": "x"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("chat"), "data": {"MODEL": "llama"}},
    {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta("models"),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "gp3",
            "resources": {"requests": {"storage": "200Gi"}},
        },
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta("chat"),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "chat"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway"}}}],
                    "ports": [{"protocol": "TCP", "port": 8000}],
                }
            ],
        },
    },
    DEPLOYMENT,
]

SCALED_OBJECT: dict[str, Any] = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": meta("chat"),
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat"},
        "minReplicaCount": 1,
        "maxReplicaCount": 8,
        "pollingInterval": 15,
        "cooldownPeriod": 300,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleDown": {
                        "stabilizationWindowSeconds": 600,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
                    },
                    "scaleUp": {"policies": [{"type": "Percent", "value": 100, "periodSeconds": 60}]},
                }
            }
        },
        "triggers": [
            {
                "type": "prometheus",
                "name": "queue",
                "metadata": {
                    "serverAddress": "http://prometheus.monitoring:9090",
                    "query": 'sum(vllm:num_requests_waiting{model_name="chat"})',
                    "threshold": "5",
                    "activationThreshold": "1",
                },
            },
            {
                "type": "cron",
                "metadata": {
                    "timezone": "Europe/Berlin",
                    "start": "0 8 * * 1-5",
                    "end": "0 20 * * 1-5",
                    "desiredReplicas": "2",
                },
            },
        ],
    },
}

TRIGGER_AUTHENTICATION: dict[str, Any] = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "TriggerAuthentication",
    "metadata": meta("prometheus"),
    "spec": {"secretTargetRef": [{"parameter": "bearerToken", "name": "prom-token", "key": "token"}]},
}

GATEWAY_CLASS: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "GatewayClass",
    "metadata": {"name": "envoy"},
    "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
}

GATEWAY: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": meta("llm"),
    "spec": {
        "gatewayClassName": "envoy",
        "listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "Same"}}},
            {
                "name": "https",
                "port": 443,
                "protocol": "HTTPS",
                "hostname": "api.example.com",
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "api-tls"}]},
            },
        ],
    },
}

HTTP_ROUTE: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": meta("chat"),
    "spec": {
        "parentRefs": [{"name": "llm", "sectionName": "https"}],
        "hostnames": ["api.example.com"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/chat"}}],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}},
                    }
                ],
                "backendRefs": [
                    {"name": "chat", "port": 80, "weight": 90},
                    {"name": "chat-canary", "port": 80, "weight": 10},
                ],
                "timeouts": {"request": "300s", "backendRequest": "290s"},
            }
        ],
    },
}

TARGET_REFS = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "chat"}]

BACKEND_TRAFFIC_POLICY: dict[str, Any] = {
    "apiVersion": "gateway.envoyproxy.io/v1alpha1",
    "kind": "BackendTrafficPolicy",
    "metadata": meta("chat"),
    "spec": {
        "targetRefs": TARGET_REFS,
        "loadBalancer": {"type": "LeastRequest", "slowStart": {"window": "30s"}},
        "timeout": {"tcp": {"connectTimeout": "5s"}, "http": {"requestTimeout": "300s", "connectionIdleTimeout": "1h"}},
        "retry": {
            "numRetries": 2,
            "retryOn": {"triggers": ["connect-failure", "reset", "retriable-status-codes"], "httpStatusCodes": [503]},
            "perRetry": {"backOff": {"baseInterval": "100ms", "maxInterval": "2s"}, "timeout": "60s"},
        },
        "circuitBreaker": {"maxConnections": 2048, "maxPendingRequests": 512, "maxParallelRequests": 1024},
        "rateLimit": {
            "local": {
                "rules": [
                    {
                        "clientSelectors": [{"headers": [{"name": "x-api-key", "type": "Distinct"}]}],
                        "limit": {"requests": 60, "unit": "Minute"},
                    }
                ]
            }
        },
    },
}

SECURITY_POLICY: dict[str, Any] = {
    "apiVersion": "gateway.envoyproxy.io/v1alpha1",
    "kind": "SecurityPolicy",
    "metadata": meta("chat"),
    "spec": {
        "targetRefs": TARGET_REFS,
        "apiKeyAuth": {
            "credentialRefs": [{"kind": "Secret", "name": "api-keys"}],
            "extractFrom": [{"headers": ["x-api-key"]}],
            "forwardClientIDHeader": "x-client-id",
            "sanitize": True,
        },
    },
}

CLIENT_TRAFFIC_POLICY: dict[str, Any] = {
    "apiVersion": "gateway.envoyproxy.io/v1alpha1",
    "kind": "ClientTrafficPolicy",
    "metadata": meta("llm"),
    "spec": {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "llm"}],
        "timeout": {"http": {"requestReceivedTimeout": "10s", "idleTimeout": "1h"}},
    },
}

ENVOY_PROXY: dict[str, Any] = {
    "apiVersion": "gateway.envoyproxy.io/v1alpha1",
    "kind": "EnvoyProxy",
    "metadata": meta("llm-proxy"),
    "spec": {
        "provider": {
            "type": "Kubernetes",
            "kubernetes": {
                "envoyService": {"type": "ClusterIP"},
                "envoyDeployment": {"replicas": 2},
                "envoyPDB": {"minAvailable": 1},
            },
        }
    },
}

SERVICE_MONITOR: dict[str, Any] = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "ServiceMonitor",
    "metadata": meta("chat"),
    "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "chat"}},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
    },
}

POD_MONITOR: dict[str, Any] = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "PodMonitor",
    "metadata": meta("chat"),
    "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "chat"}},
        "namespaceSelector": {"matchNames": [NS]},
        "podMetricsEndpoints": [
            {
                "port": "http",
                "path": "/metrics",
                "interval": "15s",
                "scrapeTimeout": "10s",
                "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}],
            }
        ],
    },
}

PROMETHEUS_RULE: dict[str, Any] = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "PrometheusRule",
    "metadata": meta("chat"),
    "spec": {
        "groups": [
            {
                "name": "llm-slo",
                "interval": "30s",
                "rules": [
                    {"record": "llm:ttft_p95:5m", "expr": "histogram_quantile(0.95, sum by (le) (rate(x[5m])))"},
                    {
                        "alert": "LLMHighTTFT",
                        "expr": "llm:ttft_p95:5m > 2",
                        "for": "10m",
                        "labels": {"severity": "warning"},
                        "annotations": {"summary": "p95 time to first token above 2s"},
                    },
                ],
            }
        ]
    },
}

INFERENCE_POOL: dict[str, Any] = {
    "apiVersion": "inference.networking.k8s.io/v1",
    "kind": "InferencePool",
    "metadata": {"name": "chat", "namespace": "llmscale"},
    "spec": {
        "selector": {"matchLabels": {"llmscale.io/profile": "chat"}},
        "targetPorts": [{"number": 8000}],
        "endpointPickerRef": {"name": "chat-epp", "port": {"number": 9002}, "failureMode": "FailClose"},
    },
}
INFERENCE_OBJECTIVE: dict[str, Any] = {
    "apiVersion": "llm-d.ai/v1alpha2",
    "kind": "InferenceObjective",
    "metadata": {"name": "chat-batch", "namespace": "llmscale"},
    "spec": {"poolRef": {"group": "inference.networking.k8s.io", "name": "chat"}, "priority": -1},
}

CUSTOM_RESOURCES = [
    INFERENCE_POOL,
    INFERENCE_OBJECTIVE,
    SCALED_OBJECT,
    TRIGGER_AUTHENTICATION,
    GATEWAY_CLASS,
    GATEWAY,
    HTTP_ROUTE,
    BACKEND_TRAFFIC_POLICY,
    SECURITY_POLICY,
    CLIENT_TRAFFIC_POLICY,
    ENVOY_PROXY,
    SERVICE_MONITOR,
    POD_MONITOR,
    PROMETHEUS_RULE,
]
ALL_VALID = BUILTINS + CUSTOM_RESOURCES


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `obj` with the value at dotted `path` (integers index lists) set to `value`."""
    new = copy.deepcopy(obj)
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    node: Any = new
    for part in parents:
        node = node[part]
    node[last] = value
    return new


# --- valid objects ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", ALL_VALID, ids=lambda obj: f"{obj['kind']}")
def test_valid_objects_pass(obj: dict[str, Any]) -> None:
    assert validate_object(obj) == []


def test_validate_objects_concatenates_and_valid_set_is_clean() -> None:
    bad = changed(DEPLOYMENT, "spec.replicas", "2")
    assert validate_objects(ALL_VALID) == []
    assert validate_objects([*ALL_VALID, bad, bad]) == validate_object(bad) * 2 != []


def test_every_covered_kind_has_a_valid_example() -> None:
    covered = {(obj["apiVersion"].rpartition("/")[0], obj["kind"]) for obj in CUSTOM_RESOURCES}
    assert covered == set(CRD_FILES)


# --- built-in kinds -------------------------------------------------------------------------------------------------


def test_unknown_container_field_is_rejected_with_its_path() -> None:
    container = "spec.template.spec.containers.0"
    bad = changed(DEPLOYMENT, f"{container}.livenessProbes", {"httpGet": {"path": "/health", "port": 8000}})
    assert validate_object(bad) == [
        "Deployment/chat: spec.template.spec.containers[0]: "
        "Additional properties are not allowed ('livenessProbes' was unexpected)"
    ]


def test_wrong_type_is_rejected() -> None:
    errors = validate_object(changed(DEPLOYMENT, "spec.replicas", "2"))
    assert errors == ["Deployment/chat: spec.replicas: '2' is not of type 'integer', 'null'"]


def test_unknown_field_in_probe_and_bad_toleration_type() -> None:
    bad = changed(DEPLOYMENT, "spec.template.spec.containers.0.readinessProbe.httpGet.paht", "/x")
    bad = changed(bad, "spec.template.spec.tolerations.0.tolerationSeconds", "60")
    errors = validate_object(bad)
    assert len(errors) == 2
    assert errors[0].startswith("Deployment/chat: spec.template.spec.containers[0].readinessProbe.httpGet: ")
    assert "'paht' was unexpected" in errors[0]
    assert errors[1].startswith("Deployment/chat: spec.template.spec.tolerations[0].tolerationSeconds: '60' is not")


def test_missing_required_field_is_rejected() -> None:
    bad = copy.deepcopy(DEPLOYMENT)
    del bad["spec"]["template"]["spec"]["containers"][0]["name"]
    assert validate_object(bad) == ["Deployment/chat: spec.template.spec.containers[0]: 'name' is a required property"]


def test_agrees_with_kubernetes_validate() -> None:
    """The cached validators give the same verdict and path as kubernetes_validate.validate itself."""
    bad = changed(DEPLOYMENT, "spec.template.spec.containers.0.ports.0.containerPort", "8000")
    kubernetes_validate.validate(DEPLOYMENT, KUBERNETES_VERSION, strict=True)
    with pytest.raises(kubernetes_validate.ValidationError) as caught:
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)
    path = "spec.template.spec.containers[0].ports[0].containerPort"
    assert list(caught.value.path) == ["spec", "template", "spec", "containers", 0, "ports", 0, "containerPort"]
    assert validate_object(bad) == [f"Deployment/chat: {path}: {caught.value.message}"]


def test_kubernetes_version_is_bundled_and_pinned() -> None:
    assert f"{versions.DEFAULT_KUBERNETES_VERSION}.0" == KUBERNETES_VERSION
    assert KUBERNETES_VERSION in kubernetes_validate.utils.all_versions()


def test_nested_type_schemas_are_not_kinds() -> None:
    """kubernetes-validate's directory also holds schemas of nested types (probe-v1.json): not objects."""
    assert validate_object({"apiVersion": "v1", "kind": "Probe", "metadata": {"name": "x"}}) == [
        "Probe/x: no schema for v1 Probe"
    ]


def test_secret_values_are_not_echoed() -> None:
    bad = changed(BUILTINS[5], "stringData.token", 1234567)
    assert bad["kind"] == "Secret"
    errors = validate_object(bad)
    assert errors == ["Secret/hf: stringData.token: <redacted> is not of type 'string', 'null'"]
    assert "1234567" not in errors[0]


# --- custom resources -----------------------------------------------------------------------------------------------


def test_integer_keda_threshold_is_rejected() -> None:
    bad = changed(SCALED_OBJECT, "spec.triggers.0.metadata.threshold", 5)
    assert validate_object(bad) == ["ScaledObject/chat: spec.triggers[0].metadata.threshold: 5 is not of type 'string'"]


def test_unknown_scaled_object_spec_field_is_rejected() -> None:
    bad = changed(SCALED_OBJECT, "spec.maxReplicas", 8)
    assert validate_object(bad) == [
        "ScaledObject/chat: spec: Additional properties are not allowed ('maxReplicas' was unexpected)"
    ]


def test_unknown_hpa_behavior_field_is_rejected() -> None:
    bad = changed(SCALED_OBJECT, "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.window", 600)
    errors = validate_object(bad)
    assert len(errors) == 1
    assert errors[0].startswith("ScaledObject/chat: spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown: ")


def test_unknown_load_balancer_field_is_rejected() -> None:
    bad = changed(BACKEND_TRAFFIC_POLICY, "spec.loadBalancer.consistentHashing", {"type": "Header"})
    assert validate_object(bad) == [
        "BackendTrafficPolicy/chat: spec.loadBalancer: "
        "Additional properties are not allowed ('consistentHashing' was unexpected)"
    ]


def test_consistent_hash_header_load_balancer_passes_and_checks_enum() -> None:
    good = changed(
        BACKEND_TRAFFIC_POLICY,
        "spec.loadBalancer",
        {"type": "ConsistentHash", "consistentHash": {"type": "Header", "header": {"name": "x-session-id"}}},
    )
    assert validate_object(good) == []
    bad = changed(good, "spec.loadBalancer.consistentHash.type", "Headr")
    errors = validate_object(bad)
    assert len(errors) == 1
    assert errors[0].startswith(
        "BackendTrafficPolicy/chat: spec.loadBalancer.consistentHash.type: 'Headr' is not one of"
    )


def test_bad_duration_and_retry_trigger_are_rejected() -> None:
    bad = changed(BACKEND_TRAFFIC_POLICY, "spec.timeout.http.requestTimeout", "5 minutes")
    bad = changed(bad, "spec.retry.retryOn.triggers.0", "connect_failure")
    errors = validate_object(bad)
    assert len(errors) == 2
    assert errors[0].startswith("BackendTrafficPolicy/chat: spec.retry.retryOn.triggers[0]: 'connect_failure' is not")
    assert errors[1].startswith("BackendTrafficPolicy/chat: spec.timeout.http.requestTimeout: '5 minutes' does not")


def test_api_key_auth_shape_is_enforced() -> None:
    """extractFrom entries hold lists of header names, not {name: ...} objects."""
    bad = changed(SECURITY_POLICY, "spec.apiKeyAuth.extractFrom", [{"headers": [{"name": "x-api-key"}]}])
    errors = validate_object(bad)
    assert errors == [
        "SecurityPolicy/chat: spec.apiKeyAuth.extractFrom[0].headers[0]: {'name': 'x-api-key'} is not of type 'string'"
    ]
    missing = copy.deepcopy(SECURITY_POLICY)
    del missing["spec"]["apiKeyAuth"]["credentialRefs"]
    assert validate_object(missing) == ["SecurityPolicy/chat: spec.apiKeyAuth: 'credentialRefs' is a required property"]


def test_httproute_bad_filter_and_timeout_are_rejected() -> None:
    bad = changed(HTTP_ROUTE, "spec.rules.0.filters.0.urlRewrite.path.type", "ReplacePrefix")
    bad = changed(bad, "spec.rules.0.timeouts.request", 300)
    errors = validate_object(bad)
    assert len(errors) == 2
    assert errors[0].startswith("HTTPRoute/chat: spec.rules[0].filters[0].urlRewrite.path.type: 'ReplacePrefix'")
    assert errors[1] == "HTTPRoute/chat: spec.rules[0].timeouts.request: 300 is not of type 'string'"


def test_prometheus_rule_and_pod_monitor_mistakes_are_rejected() -> None:
    rule = changed(PROMETHEUS_RULE, "spec.groups.0.rules.1.for", "ten minutes")
    assert validate_object(rule)[0].startswith("PrometheusRule/chat: spec.groups[0].rules[1].for: 'ten minutes' does")
    monitor = changed(POD_MONITOR, "spec.podMetricsEndpoints.0.port", 8000)
    assert validate_object(monitor) == [
        "PodMonitor/chat: spec.podMetricsEndpoints[0].port: 8000 is not of type 'string'"
    ]


def test_go_inline_flag_pattern_is_translated() -> None:
    """partial_response_strategy's pattern `^(?i)(abort|warn)?$` is RE2 syntax Python rejects as written."""
    assert validate_object(changed(PROMETHEUS_RULE, "spec.groups.0.partial_response_strategy", "Abort")) == []
    errors = validate_object(changed(PROMETHEUS_RULE, "spec.groups.0.partial_response_strategy", "never"))
    assert len(errors) == 1
    assert errors[0].startswith("PrometheusRule/chat: spec.groups[0].partial_response_strategy: 'never' does not match")


def test_crd_defaults_are_applied_before_validation() -> None:
    """Gateway addresses have a oneOf on `type` that only passes once `type` defaults to IPAddress, as in a cluster."""
    gateway = changed(GATEWAY, "spec.addresses", [{"value": "10.0.0.10"}])
    assert validate_object(gateway) == []
    assert "type" not in gateway["spec"]["addresses"][0]  # the caller's object is not modified


def test_served_older_version_validates_and_unserved_version_has_no_schema() -> None:
    assert validate_object(changed(GATEWAY_CLASS, "apiVersion", "gateway.networking.k8s.io/v1beta1")) == []
    assert validate_object(changed(SCALED_OBJECT, "apiVersion", "keda.sh/v1")) == [
        "ScaledObject/chat: no schema for keda.sh/v1 ScaledObject"
    ]


# --- metadata and unknown kinds -------------------------------------------------------------------------------------


def test_unknown_kind_has_no_schema() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    assert validate_object(widget) == ["Widget/w: no schema for example.com/v1 Widget"]
    assert validate_object(changed(DEPLOYMENT, "apiVersion", "apps/v1beta1")) == [
        "Deployment/chat: no schema for apps/v1beta1 Deployment"
    ]


@pytest.mark.parametrize("obj", [DEPLOYMENT, SCALED_OBJECT, HTTP_ROUTE], ids=lambda obj: obj["kind"])
def test_uppercase_name_is_rejected(obj: dict[str, Any]) -> None:
    errors = validate_object(changed(obj, "metadata.name", "Chat"))
    assert errors == [
        f"{obj['kind']}/Chat: metadata.name: 'Chat' is not a DNS-1123 subdomain (lowercase a-z, 0-9, '-', '.'; <= 253)"
    ]


def test_name_rules_per_kind() -> None:
    service, namespace = BUILTINS[2], BUILTINS[0]
    assert validate_object(changed(service, "metadata.name", "1chat"))[0].startswith(
        "Service/1chat: metadata.name: '1chat' is not a DNS-1035 label"
    )
    assert validate_object(changed(namespace, "metadata.name", "llm.prod"))[0].startswith(
        "Namespace/llm.prod: metadata.name: 'llm.prod' is not a DNS-1123 label"
    )
    assert validate_object(changed(DEPLOYMENT, "metadata.name", "chat.v2")) == []


def test_custom_resource_metadata_is_checked() -> None:
    no_name = copy.deepcopy(SCALED_OBJECT)
    del no_name["metadata"]["name"]
    assert validate_object(no_name) == ["ScaledObject/<no name>: metadata: 'name' is a required property"]

    bad = changed(SCALED_OBJECT, "metadata.namespace", "LLM")
    bad = changed(bad, "metadata.labels", {"tier": 3, "bad key!": "x"})
    bad = changed(bad, "metadata.uuid", "x")
    assert validate_object(bad) == [
        "ScaledObject/chat: metadata: Additional properties are not allowed ('uuid' was unexpected)",
        "ScaledObject/chat: metadata.labels.tier: 3 is not of type 'string', 'null'",
        "ScaledObject/chat: metadata.labels[\"bad key!\"]: label key 'bad key!' is not a qualified name "
        "(<= 63 of A-Za-z0-9-_., alphanumeric at both ends)",
        "ScaledObject/chat: metadata.namespace: 'LLM' is not a DNS-1123 label (lowercase a-z, 0-9, '-'; <= 63)",
    ]


def test_label_values_are_checked() -> None:
    bad = changed(DEPLOYMENT, "metadata.labels", {"app.kubernetes.io/version": "1.2.3+build"})
    assert validate_object(bad) == [
        'Deployment/chat: metadata.labels["app.kubernetes.io/version"]: '
        "'1.2.3+build' is not a valid label value (<= 63 of A-Za-z0-9-_.)"
    ]


def test_malformed_objects() -> None:
    assert validate_object({"kind": "Deployment", "metadata": {"name": "x"}}) == [
        "Deployment/x: apiVersion and kind must be non-empty strings"
    ]
    assert validate_object({"apiVersion": "../../etc", "kind": "Passwd"}) == [
        "Passwd/<no name>: no schema for ../../etc Passwd"
    ]


def test_long_messages_are_truncated() -> None:
    huge = "x" * 5000
    errors = validate_object(changed(POD_MONITOR, "spec.podMetricsEndpoints.0.interval", huge))
    assert len(errors) == 1
    message = errors[0].split(": ", 2)[2]
    assert len(message) <= MAX_MESSAGE_CHARS
    assert huge not in errors[0]


# --- conversion and vendored files ----------------------------------------------------------------------------------


def test_openapi_conversion_rules() -> None:
    schema = openapi_to_json_schema(
        {
            "type": "object",
            "properties": {
                "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
                "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"a": {}}},
                "map": {"type": "object", "additionalProperties": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "maybe": {"type": "string", "nullable": True, "enum": ["a"], "format": "int32"},
                "choice": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                    "oneOf": [{"properties": {"a": {"enum": ["x"]}}}, {"properties": {"b": {"enum": ["y"]}}}],
                    "x-kubernetes-validations": [{"rule": "has(self.a)"}],
                },
            },
        }
    )
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert validator.is_valid({"closed": {"a": "x"}, "open": {"z": 1}, "map": {"k": "v"}, "port": 80, "maybe": None})
    assert validator.is_valid({"port": "http", "maybe": "a", "choice": {"a": "x", "b": "z"}})
    assert not validator.is_valid({"closed": {"b": "x"}})
    assert not validator.is_valid({"map": {"k": 1}})
    assert not validator.is_valid({"port": 1.5})
    assert not validator.is_valid({"maybe": "b"})
    assert not validator.is_valid({"extra": 1})
    assert not validator.is_valid({"choice": {"a": "x", "b": "y"}})  # the oneOf branches are open, not closed
    assert "x-kubernetes-validations" not in schema["properties"]["choice"]  # CEL is not checked


def test_every_vendored_crd_converts_to_a_valid_schema() -> None:
    for (group, kind), relative in CRD_FILES.items():
        crd = yaml.load((CRD_DIR / relative).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        assert (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == (group, kind)
        for version in crd["spec"]["versions"]:
            schema = openapi_to_json_schema(version["schema"]["openAPIV3Schema"])
            jsonschema.Draft202012Validator.check_schema(schema)
            assert schema["additionalProperties"] is False
            assert schema["properties"]["spec"]["additionalProperties"] is False


def test_vendored_crds_are_listed_and_unchanged() -> None:
    on_disk = {str(path.relative_to(CRD_DIR)) for path in CRD_DIR.rglob("*.yaml")}
    assert on_disk == set(CRD_FILES.values())
    sources = (CRD_DIR / "SOURCES.md").read_text()
    assert "Apache-2.0" in sources.splitlines()[0]
    for relative in on_disk:
        digest = hashlib.sha256((CRD_DIR / relative).read_bytes()).hexdigest()
        assert f"`{relative}`" in sources
        assert digest in sources, relative


def test_a_hundred_objects_validate_in_one_call() -> None:
    # Their speed is measured by benchmarks/plan_time.py, not asserted here.
    objects = ALL_VALID * 5 + [changed(SCALED_OBJECT, "spec.triggers.0.metadata.threshold", 5)] * 10
    assert len(objects) >= 100
    assert len(validate_objects(objects)) == 10
