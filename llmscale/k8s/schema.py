"""Schema validation for the Kubernetes objects llmscale renders, without a cluster.

A typo in a manifest (`livenessProbes`, an integer where KEDA wants a string) is accepted by Pulumi's preview and
only fails, or is silently pruned, when the API server sees it. `validate_object` catches these mistakes offline:

* Built-in kinds (Deployment, Service, PodDisruptionBudget, ...) are checked against the strict JSON schemas that
  kubernetes-validate bundles for one pinned Kubernetes release, `KUBERNETES_VERSION`. Strict means unknown
  fields are rejected, as `kubectl apply --validate=strict` does.
* Custom resources (KEDA, Gateway API, Envoy Gateway, prometheus-operator) are checked against the
  `openAPIV3Schema` of the matching served version in the CRD files vendored under `llmscale/schemas/crds/`
  (see SOURCES.md there for their releases and license). The OpenAPI v3 schema is converted to JSON Schema
  2020-12 (`openapi_to_json_schema`, in `llmscale.k8s.crds`) with unknown fields rejected, and the CRD's
  `default` values are applied before validation, as the API server does.
* `metadata` is checked for every kind: the strict ObjectMeta schema, plus the name rules the API server
  enforces (DNS-1123 subdomain for most kinds, DNS-1123 label for Namespace, DNS-1035 label for Service),
  namespace (DNS-1123 label), label keys and values, and annotation keys.

What is NOT checked: CEL rules (`x-kubernetes-validations`, e.g. "type ConsistentHash needs consistentHash"),
`format` (int32 ranges, durations, IP addresses), uniqueness of list-map keys, defaulting of built-in kinds,
and anything only a live cluster knows (admission webhooks, quotas, references between objects).

Each problem is one line `Kind/name: dotted.path: message`, e.g.
`ScaledObject/chat: spec.triggers[0].metadata.threshold: 5 is not of type 'string'`.

Converted CRD schemas come from the compiled file `llmscale.k8s.crds` keeps beside the YAML (which is parsed
only when that file is stale), and each kind's validator is built on its first use and cached, so validating a
hundred objects takes a few milliseconds. This module needs the `test` extras (jsonschema,
kubernetes-validate).
"""

from __future__ import annotations

import copy
import functools
import re
import reprlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv
from jsonschema.protocols import Validator
from referencing import Registry, Resource

from llmscale.k8s.crds import CRD_DIR, CRD_FILES, openapi_to_json_schema, served_schema

__all__ = [
    "CRD_DIR",
    "CRD_FILES",
    "KUBERNETES_VERSION",
    "MAX_MESSAGE_CHARS",
    "openapi_to_json_schema",
    "validate_object",
    "validate_objects",
    "with_crd_defaults",
]

KUBERNETES_VERSION = "1.35.0"
"""The Kubernetes release whose built-in schemas are used (must be bundled with kubernetes-validate)."""

MAX_MESSAGE_CHARS = 200
"""Longest message part of an error line (oneOf and pattern messages can run to kilobytes)."""

_K8S_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META_REF = f"{_K8S_DEFINITIONS_ID}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_CRD_ID_PREFIX = "https://llmscale.invalid/crds/"  # the $id of converted CRD schemas (never fetched)

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
    # Not crawled up front (a tenth of a second over 5000 definitions): every $ref into it is a JSON pointer
    # (`/api/_definitions.json#/$defs/...`), which resolves against the registered document as it is, and the
    # registry crawls by itself should an anchor ever be looked up.
    return Registry().with_resource(resource.id() or _K8S_DEFINITIONS_ID, resource)


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


def _crd_schema(group: str, version: str, kind: str) -> dict[str, Any] | None:
    """The JSON Schema of a served version of a vendored CRD, with metadata checked as a strict ObjectMeta."""
    schema = served_schema(group, version, kind)
    if schema is None:
        return None
    schema["properties"] = {**schema["properties"], "metadata": {"$ref": _OBJECT_META_REF}}
    schema["$id"] = f"{_CRD_ID_PREFIX}{group}/{version}/{kind}"
    return schema


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
