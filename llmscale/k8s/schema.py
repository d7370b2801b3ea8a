"""Schema validation for the Kubernetes objects llmscale renders, without a cluster.

A typo in a manifest (`livenessProbes`, an integer where KEDA wants a string) is accepted by Pulumi's preview and
only fails, or is silently pruned, when the API server sees it. `validate_object` catches these mistakes offline:

* Built-in kinds (Deployment, Service, PodDisruptionBudget, ...) are checked against the strict JSON schemas that
  kubernetes-validate bundles for one pinned Kubernetes release, `KUBERNETES_VERSION`. Strict means unknown
  fields are rejected, as `kubectl apply --validate=strict` does.
* Custom resources (KEDA, Gateway API, Envoy Gateway, prometheus-operator) are checked against the
  `openAPIV3Schema` of the matching served version in the CRD files vendored under `llmscale/schemas/crds/`
  (see SOURCES.md there for their releases and license). The OpenAPI v3 schema is converted to JSON Schema
  2020-12 (`openapi_to_json_schema`) with unknown fields rejected, and the CRD's `default` values are applied
  before validation, as the API server does.
* `metadata` is checked for every kind: the strict ObjectMeta schema, plus the name rules the API server
  enforces (DNS-1123 subdomain for most kinds, DNS-1123 label for Namespace, DNS-1035 label for Service),
  namespace (DNS-1123 label), label keys and values, and annotation keys.

What is NOT checked: CEL rules (`x-kubernetes-validations`, e.g. "type ConsistentHash needs consistentHash"),
`format` (int32 ranges, durations, IP addresses), uniqueness of list-map keys, defaulting of built-in kinds,
and anything only a live cluster knows (admission webhooks, quotas, references between objects).

Each problem is one line `Kind/name: dotted.path: message`, e.g.
`ScaledObject/chat: spec.triggers[0].metadata.threshold: 5 is not of type 'string'`.

Schemas are parsed once and validators built once (cached), so validating a hundred objects takes a few
milliseconds after the first use of each kind. This module needs the `test` extras (jsonschema,
kubernetes-validate).
"""

from __future__ import annotations

import copy
import functools
import re
import reprlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv
import yaml
from jsonschema.protocols import Validator
from referencing import Registry, Resource

KUBERNETES_VERSION = "1.35.0"
"""The Kubernetes release whose built-in schemas are used (must be bundled with kubernetes-validate)."""

CRD_DIR = Path(__file__).resolve().parent.parent / "schemas" / "crds"
"""The vendored CustomResourceDefinition files, copied unchanged from the upstream releases in SOURCES.md."""

CRD_FILES: Mapping[tuple[str, str], str] = {
    (group, kind): f"{folder}/{group}_{plural}.yaml"
    for folder, group, kind, plural in (
        ("keda", "keda.sh", "ScaledObject", "scaledobjects"),
        ("keda", "keda.sh", "TriggerAuthentication", "triggerauthentications"),
        ("gateway-api", "gateway.networking.k8s.io", "Gateway", "gateways"),
        ("gateway-api", "gateway.networking.k8s.io", "GatewayClass", "gatewayclasses"),
        ("gateway-api", "gateway.networking.k8s.io", "HTTPRoute", "httproutes"),
        ("envoy-gateway", "gateway.envoyproxy.io", "BackendTrafficPolicy", "backendtrafficpolicies"),
        ("envoy-gateway", "gateway.envoyproxy.io", "SecurityPolicy", "securitypolicies"),
        ("envoy-gateway", "gateway.envoyproxy.io", "ClientTrafficPolicy", "clienttrafficpolicies"),
        ("envoy-gateway", "gateway.envoyproxy.io", "EnvoyProxy", "envoyproxies"),
        ("prometheus-operator", "monitoring.coreos.com", "ServiceMonitor", "servicemonitors"),
        ("prometheus-operator", "monitoring.coreos.com", "PodMonitor", "podmonitors"),
        ("prometheus-operator", "monitoring.coreos.com", "PrometheusRule", "prometheusrules"),
        ("gateway-api-inference-extension", "inference.networking.k8s.io", "InferencePool", "inferencepools"),
        ("llm-d-router", "llm-d.ai", "InferenceObjective", "inferenceobjectives"),
    )
}
"""(API group, kind) -> CRD file under CRD_DIR. Add a line here when vendoring a new CRD."""

MAX_MESSAGE_CHARS = 200
"""Longest message part of an error line (oneOf and pattern messages can run to kilobytes)."""

_K8S_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META_REF = f"{_K8S_DEFINITIONS_ID}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_CRD_ID_PREFIX = "https://llmscale.invalid/crds/"  # the $id of converted CRD schemas (never fetched)

# OpenAPI keywords that have no JSON Schema meaning, or that this module deliberately does not check.
_OPENAPI_ONLY = frozenset(
    {
        "description",
        "example",
        "externalDocs",
        "format",
        "nullable",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-list-type",
        "x-kubernetes-map-type",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-validations",
    }
)
_JUNCTORS = ("allOf", "anyOf", "oneOf")
_GO_INLINE_FLAGS = re.compile(r"\(\?([imsU]+)\)")

_API_VERSION_SYNTAX = re.compile(r"^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$")
_KIND_SYNTAX = re.compile(r"^[A-Z][A-Za-z0-9]*$")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_PATH_SEGMENT_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxdict = 4
_repr.maxlevel = 2


def validate_object(obj: Mapping[str, Any]) -> list[str]:
    """Check one Kubernetes object (a dict with apiVersion, kind, metadata, ...) against its schema.

    Returns one `Kind/name: dotted.path: message` line per problem, sorted by path; an empty list means the
    object is valid as far as schemas can tell (CEL rules are not evaluated: see the module docstring).
    An apiVersion/kind with no known schema gives the single error `Kind/name: no schema for <apiVersion> <kind>`,
    so that a typo in apiVersion is never mistaken for a valid object.
    """
    ident = _identify(obj)
    if not isinstance(obj, Mapping):
        return [f"{ident}: a Kubernetes object must be a mapping, not {type(obj).__name__}"]
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        return [f"{ident}: apiVersion and kind must be non-empty strings"]

    validator = _validator(api_version, kind)
    if validator is None:
        return [f"{ident}: no schema for {api_version} {kind}"]
    instance: Any = obj
    if validator.schema.get("$id", "").startswith(_CRD_ID_PREFIX):
        instance = copy.deepcopy(dict(obj))
        _apply_defaults(instance, validator.schema)

    secret = kind == "Secret" and api_version == "v1"
    problems = {
        (_format_path(error.absolute_path), _message(error, redact=secret)) for error in validator.iter_errors(instance)
    }
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        problems.update((_format_path(path), message) for path, message in _metadata_problems(kind, metadata))
    return [f"{ident}: {path}: {message}" for path, message in sorted(problems)]


def with_crd_defaults(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a custom resource with the defaults its CRD's structural schema declares filled in, as the API
    server stores it; other objects are returned as a plain copy."""
    instance = copy.deepcopy(dict(obj))
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if isinstance(api_version, str) and isinstance(kind, str):
        validator = _validator(api_version, kind)
        if validator is not None and validator.schema.get("$id", "").startswith(_CRD_ID_PREFIX):
            _apply_defaults(instance, validator.schema)
    return instance


def validate_objects(objs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Check many Kubernetes objects (e.g. every manifest of a stack) and return all their problems in order.

    The same as concatenating `validate_object` over `objs`; each line names its object, so the result can be
    printed or asserted empty as is.
    """
    return [problem for obj in objs for problem in validate_object(obj)]


def openapi_to_json_schema(schema: Mapping[str, Any], *, in_junctor: bool = False) -> dict[str, Any]:
    """Convert a CRD's OpenAPI v3 (structural) schema to a JSON Schema 2020-12 schema that rejects unknown fields.

    Why not use the OpenAPI schema as is: the API server prunes (or, with strict field validation, rejects)
    fields a structural schema does not declare, while JSON Schema allows them. So every object schema that
    declares `properties` (or is `type: object`) and has neither `additionalProperties` nor
    `x-kubernetes-preserve-unknown-fields: true` gets `additionalProperties: false`. Schemas inside
    allOf/anyOf/oneOf/not (`in_junctor`) are left open: structural schemas only repeat parent fields there.

    Also: `nullable: true` admits null; `x-kubernetes-int-or-string: true` admits integer or string; `format` is
    dropped (int32/int64/date-time are not checked); `x-kubernetes-validations` (CEL) is dropped, so CEL rules are
    NOT checked; Go (RE2) patterns with inline flags such as `^(?i)(a|b)$` are rewritten for Python's re, and a
    pattern Python cannot compile is dropped. `default` is kept (JSON Schema ignores it; `validate_object`
    applies it first).
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _OPENAPI_ONLY:
            continue
        if key == "properties":
            out[key] = {name: openapi_to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = openapi_to_json_schema(value)
        elif key in _JUNCTORS:
            out[key] = [openapi_to_json_schema(sub, in_junctor=True) for sub in value]
        elif key == "not":
            out[key] = openapi_to_json_schema(value, in_junctor=True)
        elif key == "pattern":
            pattern = _python_pattern(value)
            if pattern is not None:
                out[key] = pattern
        else:
            out[key] = value

    if schema.get("x-kubernetes-int-or-string") and "type" not in out:
        out["type"] = ["integer", "string"]
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    is_object = out.get("type") == "object" or "properties" in out
    if is_object and not in_junctor and not preserve and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("nullable"):
        if any(key in out for key in (*_JUNCTORS, "not")):
            return {"anyOf": [{"type": "null"}, out]}
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


# --- schema lookup -------------------------------------------------------------------------------------------


@functools.cache
def _validator(api_version: str, kind: str) -> Validator | None:
    """The validator for one apiVersion/kind (built once), or None when no schema is known."""
    if not _API_VERSION_SYNTAX.match(api_version) or not _KIND_SYNTAX.match(kind):
        return None
    group, _, version = api_version.rpartition("/")
    schema = _crd_schema(group, version, kind) if (group, kind) in CRD_FILES else _builtin_schema(group, version, kind)
    if schema is None:
        return None
    return jsonschema.Draft202012Validator(schema, registry=_k8s_registry())


@functools.cache
def _builtin_schema_dir() -> str:
    if KUBERNETES_VERSION not in kv.all_versions():
        raise kv.VersionNotSupportedError(KUBERNETES_VERSION)
    return f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"


@functools.cache
def _k8s_registry() -> Registry:
    """The bundled Kubernetes definitions (every $ref target of the built-in schemas), loaded once."""
    definitions = kv.schema_contents(f"{_builtin_schema_dir()}/_definitions.json", KUBERNETES_VERSION)
    resource = Resource.from_contents(definitions)
    return Registry().with_resource(resource.id() or _K8S_DEFINITIONS_ID, resource).crawl()


def _builtin_schema(group: str, version: str, kind: str) -> dict[str, Any] | None:
    """The strict kubernetes-validate schema of a built-in kind, located the way kubernetes_validate.validate does."""
    # e.g. apps/v1 -> apps-v1, policy/v1 -> policy-v1, networking.k8s.io/v1 -> networking-v1, v1 -> v1
    api = f"{group.split('.')[0]}-{version}" if group else version
    try:
        schema = kv.schema_contents(f"{_builtin_schema_dir()}/{kind.lower()}-{api}.json", KUBERNETES_VERSION)
    except FileNotFoundError:
        return None
    # The directory also holds schemas of nested types (probe-v1.json): accept only real top-level kinds.
    gvk = {"group": group, "version": version, "kind": kind}
    if gvk not in schema.get("x-kubernetes-group-version-kind", []):
        return None
    return schema


@functools.cache
def _crd_document(relative_path: str) -> dict[str, Any]:
    """One vendored CRD file, parsed once (the C loader when available: the largest file is over 500 kB)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (CRD_DIR / relative_path).open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=loader)  # a safe loader: plain data only


def _crd_schema(group: str, version: str, kind: str) -> dict[str, Any] | None:
    """The JSON Schema of a served version of a vendored CRD, with metadata checked as a strict ObjectMeta."""
    crd = _crd_document(CRD_FILES[(group, kind)])
    spec = crd["spec"]
    if spec["group"] != group or spec["names"]["kind"] != kind:
        raise ValueError(f"{CRD_FILES[(group, kind)]} defines {spec['group']} {spec['names']['kind']}, not {kind}")
    for served in spec["versions"]:
        if served["name"] == version and served.get("served", False):
            schema = openapi_to_json_schema(served["schema"]["openAPIV3Schema"])
            schema["properties"]["metadata"] = {"$ref": _OBJECT_META_REF}
            schema["$id"] = f"{_CRD_ID_PREFIX}{group}/{version}/{kind}"
            return schema
    return None


def _python_pattern(pattern: str) -> str | None:
    """A Go (RE2) pattern as a Python pattern; None if Python cannot compile it."""
    candidates = [pattern]
    flags = _GO_INLINE_FLAGS.search(pattern)
    if flags and flags.start() > 0:
        # RE2 allows `^(?i)x$` (flags from here on); Python only at the start, or scoped as `^(?i:x$)`.
        candidates.append(f"{pattern[: flags.start()]}(?{flags.group(1)}:{pattern[flags.end() :]})")
    for candidate in candidates:
        try:
            re.compile(candidate)
        except re.error:
            continue
        return candidate
    return None


def _apply_defaults(value: Any, schema: Mapping[str, Any]) -> None:
    """Fill absent fields that have a `default`, in place, like the API server does before validating a CR."""
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name, sub in properties.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            sub = properties.get(name, extra)
            if isinstance(sub, Mapping):
                _apply_defaults(item, sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            _apply_defaults(item, schema["items"])


# --- metadata --------------------------------------------------------------------------------------------------


def _metadata_problems(kind: str, metadata: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Name, namespace, label and annotation rules the API server applies that the schemas do not express."""
    name, generate_name = metadata.get("name"), metadata.get("generateName")
    if name is None and generate_name is None:
        yield ("metadata",), "'name' is a required property"
    if isinstance(name, str):
        problem = _name_problem(kind, name)
        if problem:
            yield ("metadata", "name"), problem
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and not _is_dns1123_label(namespace):
        yield ("metadata", "namespace"), f"{namespace!r} is not a DNS-1123 label (lowercase a-z, 0-9, '-'; <= 63)"
    labels = metadata.get("labels")
    if isinstance(labels, Mapping):
        for key, label in labels.items():
            problem = _qualified_name_problem(key)
            if problem:
                yield ("metadata", "labels", key), f"label key {problem}"
            if isinstance(label, str) and (len(label) > 63 or not _LABEL_VALUE.match(label)):
                yield ("metadata", "labels", key), f"{label!r} is not a valid label value (<= 63 of A-Za-z0-9-_.)"
    annotations = metadata.get("annotations")
    if isinstance(annotations, Mapping):
        for key in annotations:
            problem = _qualified_name_problem(key)
            if problem:
                yield ("metadata", "annotations", key), f"annotation key {problem}"


def _name_problem(kind: str, name: str) -> str | None:
    if kind in _PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name or not name:
            return f"{name!r} is not a valid path segment name (no '/', '%', '.' or '..')"
        return None
    if kind == "Namespace":
        if not _is_dns1123_label(name):
            return f"{name!r} is not a DNS-1123 label (lowercase a-z, 0-9, '-'; <= 63)"
        return None
    if kind == "Service":
        if len(name) > 63 or not _DNS1035_LABEL.match(name):
            return f"{name!r} is not a DNS-1035 label (lowercase a-z first, then a-z, 0-9, '-'; <= 63)"
        return None
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        return f"{name!r} is not a DNS-1123 subdomain (lowercase a-z, 0-9, '-', '.'; <= 253)"
    return None


def _qualified_name_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return f"{key!r} is not a string"
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return f"{key!r}: prefix {prefix!r} is not a DNS-1123 subdomain"
    if len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return f"{key!r} is not a qualified name (<= 63 of A-Za-z0-9-_., alphanumeric at both ends)"
    return None


def _is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1123_LABEL.match(value))


# --- error lines -----------------------------------------------------------------------------------------------


def _identify(obj: Any) -> str:
    """`Kind/name` for error lines, with placeholders for whatever is missing."""
    if not isinstance(obj, Mapping):
        return "<not an object>"
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) and obj.get("kind") else "<no kind>"
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if not isinstance(name, str) or not name:
        generate_name = metadata.get("generateName") if isinstance(metadata, Mapping) else None
        name = f"{generate_name}*" if isinstance(generate_name, str) and generate_name else "<no name>"
    return f"{kind}/{name}"


def _format_path(path: Iterable[Any]) -> str:
    """`spec.triggers[0].metadata.threshold`; keys that are not plain words are quoted: `labels["app.io/x"]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            text += f".{part}" if text else str(part)
        else:
            text += f'["{part}"]'
    return text or "(root)"


def _message(error: jsonschema.ValidationError, *, redact: bool) -> str:
    """jsonschema's message with the offending value shortened (or hidden, for Secrets) and the whole capped."""
    message = error.message
    full = repr(error.instance)
    if message.startswith(full):
        short = "<redacted>" if redact else _repr.repr(error.instance)
        message = short + message[len(full) :]
    elif redact:
        message = message.replace(full, "<redacted>")
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message
