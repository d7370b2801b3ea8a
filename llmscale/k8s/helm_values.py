"""The values keys a Helm release sets, checked against the pinned chart's own defaults.

Helm coalesces a release's values into the chart's `values.yaml` and renders the templates; a key no template
reads (`retentionn` for `retention`) is dropped without a word, so the release installs and silently runs the
chart's default instead. This module finds such keys offline, from the default `values.yaml` (and
`values.schema.json`, where a chart ships one) of every pinned chart, vendored unchanged under
`llmscale/schemas/helm/<chart>/<version>/` with its release tag and commit in SOURCES.md there.

A key path is known when the chart's defaults have it, or when it lies under a map the chart leaves free-form:
a default of `{}` or null (nodeSelector, podAnnotations, storageSpec, ...), or one of the maps in
`FREE_FORM` that the chart documents as free-form although its default is not empty; the `condition` paths
of its dependencies (`nfd.enabled`), which Helm reads, are known too. Lists are values, not
key trees: Helm replaces them whole, so keys inside list items are not checked. Subcharts are checked against
their own vendored defaults (`charts/<name>/` inside the parent's folder, as in a packaged chart), merged under
their alias with the parent's section for them, as Helm coalesces them; `global` is shared. A release whose chart or
subchart has no vendored defaults raises `ChartNotVendoredError`, so a new pin cannot go unchecked.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HELM_DIR = Path(__file__).resolve().parent.parent / "schemas" / "helm"
"""The vendored chart files: `<chart>/<version>/{Chart.yaml,values.yaml[,values.schema.json]}`."""

KeyPath = tuple[str, ...]

FREE_FORM: Mapping[str, frozenset[KeyPath]] = {
    # The Deployment passes every key of extraArgs through as `--<key>=<value>` (templates/deployment.yaml,
    # `range $key, $value := .Values.extraArgs`, in kubernetes/autoscaler at each vendored chart tag); its
    # defaults (logtostderr, stderrthreshold, v) are examples, not the list of allowed flags.
    "cluster-autoscaler": frozenset({("extraArgs",)}),
    # alertmanager.config is Alertmanager's own configuration file, written as YAML into the Alertmanager
    # Secret (templates/alertmanager/secret.yaml, `toYaml .Values.alertmanager.config`, in
    # prometheus-community/helm-charts at kube-prometheus-stack-88.2.0); the chart does not read its keys.
    "kube-prometheus-stack": frozenset({("alertmanager", "config")}),
    # grafana.ini is Grafana's configuration file: every section and key is written out as INI
    # (templates/_config.tpl, `range $key, $value := index .Values "grafana.ini"`, in
    # grafana-community/helm-charts at grafana-12.10.4).
    "grafana": frozenset({("grafana.ini",)}),
    # config.envoyGateway is Envoy Gateway's own configuration file (merged over the chart's base configuration and
    # written with toYaml into ConfigMap envoy-gateway-config, templates/envoy-gateway-config.yaml), and
    # deployment.pod.annotations are
    # written as they are (`toYaml`, templates/envoy-gateway-deployment.yaml), both in envoyproxy/gateway at v1.9.0;
    # their defaults are examples.
    "gateway-helm": frozenset({("config", "envoyGateway"), ("deployment", "pod", "annotations")}),
}
"""Maps a chart documents as free-form although their default is not empty, by chart name."""


class ChartNotVendoredError(LookupError):
    """A chart (or a subchart it needs) whose defaults are not vendored: its keys cannot be checked."""


@dataclass(frozen=True)
class ChartDefaults:
    """A chart's effective defaults: its values with those of its vendored subcharts, and what is free-form."""

    name: str
    version: str
    values: dict[str, Any]
    free_form: frozenset[KeyPath]
    """Key paths under which any key is accepted."""
    schemas: tuple[tuple[KeyPath, dict[str, Any]], ...]
    """The values.schema.json of the chart (at `()`) and of its vendored subcharts (at their values key)."""
    opaque: Mapping[KeyPath, str]
    """Subcharts whose defaults are not vendored: their values key path -> `name version`."""
    conditions: frozenset[KeyPath] = frozenset()
    """The `condition` paths of the chart's dependencies, which Helm itself reads (`nfd.enabled`)."""


def chart_name(chart: str) -> str:
    """The chart's name from the reference a release uses: `oci://docker.io/envoyproxy/gateway-helm` ->
    `gateway-helm`, `repo/keda` -> `keda`, `keda` -> `keda`."""
    return chart.rstrip("/").rsplit("/", 1)[-1]


def chart_dir(chart: str, version: str, root: Path = HELM_DIR) -> Path:
    """Where the vendored files of (chart, version) are; raises ChartNotVendoredError when there are none."""
    name = chart_name(chart)
    directory = root / name / version
    if not (directory / "values.yaml").is_file():
        raise ChartNotVendoredError(
            f"Helm chart {name} {version}: no vendored defaults in {_display(directory)}; vendor its Chart.yaml "
            "and values.yaml (and values.schema.json if it has one) from the chart's release tag, and record "
            f"their source in {_display(root / 'SOURCES.md')}"
        )
    return directory


def vendored_charts(root: Path = HELM_DIR) -> list[tuple[str, str]]:
    """Every (chart name, version) with vendored defaults, sorted."""
    return sorted((path.parent.parent.name, path.parent.name) for path in root.glob("*/*/values.yaml"))


def chart_metadata(chart: str, version: str, root: Path = HELM_DIR) -> dict[str, Any]:
    """The vendored Chart.yaml of (chart, version): name, version, appVersion, dependencies."""
    return dict(_load_yaml(chart_dir(chart, version, root) / "Chart.yaml"))


def app_version(chart: str, version: str, root: Path = HELM_DIR) -> str:
    """The appVersion the chart release declares (what its image tag defaults to in most charts)."""
    return str(chart_metadata(chart, version, root)["appVersion"])


def chart_defaults(chart: str, version: str, root: Path = HELM_DIR) -> ChartDefaults:
    """The effective defaults of (chart, version), subcharts included; raises ChartNotVendoredError."""
    return _chart_defaults(chart_name(chart), version, root)


def unknown_keys(chart: str, version: str, values: Mapping[str, Any], root: Path = HELM_DIR) -> list[str]:
    """The dotted key paths `values` sets that the pinned chart has no use for, in the order they are set;
    keys under an unknown key are not listed again.

    Raises ChartNotVendoredError when the chart, or a subchart `values` sets keys under, has no vendored defaults.
    """
    defaults = chart_defaults(chart, version, root)
    unknown: list[str] = []
    reported: set[KeyPath] = set()
    for path in _key_paths(values):
        if any(path[:depth] in reported for depth in range(1, len(path))) or _known(defaults, path):
            continue
        subchart = next((what for where, what in defaults.opaque.items() if path[: len(where)] == where), None)
        if subchart is not None:
            raise ChartNotVendoredError(
                f"Helm chart {defaults.name} {version}: `{'.'.join(path)}` is set under subchart {subchart}, "
                "whose defaults are not vendored; vendor its Chart.yaml and values.yaml under charts/<name>/ "
                "of the chart that depends on it"
            )
        reported.add(path)
        unknown.append(".".join(path))
    return unknown


# --- internals -------------------------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(HELM_DIR.parent.parent.parent))
    except ValueError:
        return str(path)


@functools.cache
def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@functools.cache
def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _chart_defaults(name: str, version: str, root: Path) -> ChartDefaults:
    chart_dir(name, version, root)
    return _load_chart(root / name / version, name, version)


@functools.cache
def _load_chart(directory: Path, name: str, version: str) -> ChartDefaults:
    """The chart in `directory` (a chart version's folder, or `charts/<name>` inside its parent's)."""
    metadata = _load_yaml(directory / "Chart.yaml") or {}
    if str(metadata.get("name")) != name or str(metadata.get("version")) != version:
        raise ChartNotVendoredError(
            f"{_display(directory / 'Chart.yaml')} is chart {metadata.get('name')} {metadata.get('version')}, "
            f"not {name} {version}"
        )
    values = _load_yaml(directory / "values.yaml") or {}
    schema_file = directory / "values.schema.json"
    schemas = [((), _load_json(schema_file))] if schema_file.is_file() else []
    free_form = set(FREE_FORM.get(name, frozenset()))
    opaque: dict[KeyPath, str] = {}
    conditions: set[KeyPath] = set()
    for dependency in metadata.get("dependencies") or []:
        sub_name, sub_version = str(dependency["name"]), str(dependency.get("version"))
        key = str(dependency.get("alias") or sub_name)
        conditions.update(tuple(c.strip().split(".")) for c in str(dependency.get("condition") or "").split(",") if c)
        sub_dir = directory / "charts" / sub_name
        if not (sub_dir / "values.yaml").is_file():
            opaque[(key,)] = f"{sub_name} {sub_version}"
            continue
        sub = _load_chart(sub_dir, sub_name, sub_version)
        values = {**values, key: _union(values.get(key), sub.values)}
        if "global" in sub.values:
            values["global"] = _union(values.get("global"), sub.values["global"])
        free_form.update((key, *path) for path in sub.free_form)
        schemas.extend(((key, *prefix), schema) for prefix, schema in sub.schemas)
        opaque.update({(key, *inner): what for inner, what in sub.opaque.items()})
        conditions.update((key, *inner) for inner in sub.conditions)
    return ChartDefaults(name, version, values, frozenset(free_form), tuple(schemas), opaque, frozenset(conditions))


def _union(first: Any, second: Any) -> Any:
    """Both key trees in one: maps merge key by key, and a map wins over a scalar or list (it has the keys)."""
    if isinstance(first, dict) and isinstance(second, dict):
        merged = dict(second)
        for key, value in first.items():
            merged[key] = _union(value, second[key]) if key in second else value
        return merged
    return first if isinstance(first, dict) or not isinstance(second, dict) else second


def _key_paths(values: Mapping[str, Any], prefix: KeyPath = ()) -> Iterator[KeyPath]:
    """Every key path a values tree sets, leaves and intermediate maps alike, depth first."""
    for key, value in values.items():
        path = (*prefix, str(key))
        yield path
        if isinstance(value, Mapping):
            yield from _key_paths(value, path)


def _known(defaults: ChartDefaults, path: KeyPath) -> bool:
    if path in defaults.conditions:
        return True
    for prefix, schema in defaults.schemas:
        if path[: len(prefix)] == prefix and _schema_declares(schema, schema, path[len(prefix) :]):
            return True
    node: Any = defaults.values
    for depth, key in enumerate(path):
        if depth and path[:depth] in defaults.free_form:
            return True
        if depth and path[:depth] not in defaults.opaque and (node is None or node == {}):
            return True
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _schema_declares(schema: Any, node: Any, path: KeyPath) -> bool:
    """True when a values.schema.json names the key path, or lets the map above it take any key it declares
    by `additionalProperties` (a schema, or true) or `patternProperties`."""
    for key in path:
        node = _resolve(schema, node)
        if not isinstance(node, dict):
            return False
        properties = node.get("properties") or {}
        if key in properties:
            node = properties[key]
            continue
        pattern = next((sub for rx, sub in (node.get("patternProperties") or {}).items() if re.search(rx, key)), None)
        if pattern is not None:
            node = pattern
            continue
        extra = node.get("additionalProperties")
        if extra is True or isinstance(extra, dict):
            node = extra if isinstance(extra, dict) else {}
            continue
        return False
    return True


def _resolve(schema: Any, node: Any) -> Any:
    """Follow a local `$ref` (`#/definitions/x`, `#/$defs/x`); remote references are not followed."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = schema
        for part in node["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        node = target
        seen += 1
        if seen > 32:
            return None
    return node
