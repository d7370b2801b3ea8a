"""The JSON Schemas of the vendored CustomResourceDefinitions, converted once and kept in a compiled file.

The CRD files under `llmscale/schemas/crds/` are upstream YAML (see SOURCES.md there), 3 MB of it, mostly
descriptions; parsing them takes most of a second, more than the plan of a whole stack. So the schemas of
their served versions, converted by `openapi_to_json_schema`, are kept in `compiled.json` beside them, with the
sha256 of each CRD file and of this module. A schema is read from there only while both digests still match;
otherwise (a CRD was updated, the converter changed) it is converted from the YAML again, so a stale compiled
file can cost time but never change a result. `python -m llmscale.k8s.crds` rewrites the compiled file, and a
test fails while it is stale.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CRD_DIR = Path(__file__).resolve().parent.parent / "schemas" / "crds"
"""The vendored CustomResourceDefinition files, copied unchanged from the upstream releases in SOURCES.md."""

COMPILED_FILE = CRD_DIR / "compiled.json"
"""The converted schemas of every served version of every file in CRD_FILES (generated; do not edit)."""

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
"""(API group, kind) -> CRD file under CRD_DIR. Add a line here when vendoring a new CRD (then recompile)."""

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


# --- converting the YAML ---------------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def converter_digest() -> str:
    """The sha256 of this module's source: a compiled schema is only trusted if it was converted by this code."""
    return _digest(Path(__file__))


def convert_file(relative_path: str) -> dict[str, Any]:
    """One vendored CRD file parsed (the C loader when available) and its served versions converted:
    `{"group", "kind", "served": {version: schema}}`."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (CRD_DIR / relative_path).open(encoding="utf-8") as stream:
        crd = yaml.load(stream, Loader=loader)  # a safe loader: plain data only
    spec = crd["spec"]
    return {
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "served": {
            version["name"]: openapi_to_json_schema(version["schema"]["openAPIV3Schema"])
            for version in spec["versions"]
            if version.get("served", False)
        },
    }


def compile_all() -> dict[str, Any]:
    """The content of COMPILED_FILE, converted afresh from every file in CRD_FILES."""
    return {
        "generatedBy": "python -m llmscale.k8s.crds (do not edit)",
        "converterSha256": converter_digest(),
        "files": {
            relative: {"sha256": _digest(CRD_DIR / relative), **convert_file(relative)}
            for relative in sorted(CRD_FILES.values())
        },
    }


# --- reading -------------------------------------------------------------------------------------------------


@functools.cache
def _compiled() -> dict[str, Any]:
    """COMPILED_FILE as written, or an empty one when it is missing, unreadable or from another converter."""
    try:
        document = json.loads(COMPILED_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("converterSha256") != converter_digest():
        return {}
    files = document.get("files")
    return files if isinstance(files, dict) else {}


@functools.cache
def crd_file(relative_path: str) -> dict[str, Any]:
    """The converted served versions of one CRD file: from COMPILED_FILE when it was made from this very file by
    this very converter, else converted from the YAML now."""
    entry = _compiled().get(relative_path)
    if isinstance(entry, dict) and entry.get("sha256") == _digest(CRD_DIR / relative_path):
        return entry
    return convert_file(relative_path)


def served_schema(group: str, version: str, kind: str) -> dict[str, Any] | None:
    """The converted JSON Schema of a served version of a vendored CRD (a fresh top level, shared sub-schemas:
    treat it as read-only below the top), or None when that version is not served."""
    relative = CRD_FILES[(group, kind)]
    converted = crd_file(relative)
    if converted["group"] != group or converted["kind"] != kind:
        raise ValueError(f"{relative} defines {converted['group']} {converted['kind']}, not {kind}")
    schema = converted["served"].get(version)
    return dict(schema) if schema is not None else None


def main() -> None:
    """Rewrite COMPILED_FILE from the vendored CRD files."""
    COMPILED_FILE.write_text(json.dumps(compile_all(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {COMPILED_FILE}")


if __name__ == "__main__":
    main()
