"""Tests for llmscale.k8s.crds: the compiled CRD schemas are current, used, and never trusted once stale."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmscale.k8s import crds, schema
from llmscale.k8s.schema import validate_object

SCALED_OBJECT = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {"name": "chat", "namespace": "llm"},
    "spec": {
        "scaleTargetRef": {"name": "chat"},
        "triggers": [{"type": "prometheus", "metadata": {"serverAddress": "http://p:9090", "threshold": 5}}],
    },
}
THRESHOLD_ERROR = "ScaledObject/chat: spec.triggers[0].metadata.threshold: 5 is not of type 'string'"


def _clear_caches() -> None:
    crds._compiled.cache_clear()
    crds.crd_file.cache_clear()
    schema._validator.cache_clear()


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """Every cached schema and validator dropped before and after the test, so it sees what a new process sees."""
    _clear_caches()
    yield
    _clear_caches()


def test_the_compiled_file_is_current() -> None:
    on_disk = json.loads(crds.COMPILED_FILE.read_text(encoding="utf-8"))
    assert on_disk == crds.compile_all(), "stale: run `python -m llmscale.k8s.crds` and commit compiled.json"


def test_custom_resources_are_checked_without_parsing_the_yaml(
    fresh_caches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_yaml(relative_path: str) -> dict:
        raise AssertionError(f"parsed {relative_path}")

    monkeypatch.setattr(crds, "convert_file", no_yaml)
    assert validate_object(SCALED_OBJECT) == [THRESHOLD_ERROR]


def test_a_changed_crd_file_is_converted_again(
    fresh_caches: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A compiled entry whose digest no longer matches its YAML (here: a schema that accepts anything) is ignored.
    document = json.loads(crds.COMPILED_FILE.read_text(encoding="utf-8"))
    entry = document["files"][crds.CRD_FILES[("keda.sh", "ScaledObject")]]
    entry["sha256"] = "0" * 64
    entry["served"]["v1alpha1"] = {"type": "object", "properties": {}}
    stale = tmp_path / "compiled.json"
    stale.write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setattr(crds, "COMPILED_FILE", stale)
    assert validate_object(SCALED_OBJECT) == [THRESHOLD_ERROR]


@pytest.mark.parametrize("content", ["", "{not json", '{"files": {}}', json.dumps({"converterSha256": "0" * 64})])
def test_a_missing_or_foreign_compiled_file_falls_back_to_the_yaml(
    fresh_caches: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str
) -> None:
    other = tmp_path / "compiled.json"
    if content:
        other.write_text(content, encoding="utf-8")
    monkeypatch.setattr(crds, "COMPILED_FILE", other)
    assert crds._compiled() == {}
    assert validate_object(SCALED_OBJECT) == [THRESHOLD_ERROR]


def test_a_compiled_file_from_another_converter_is_not_trusted(
    fresh_caches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crds, "converter_digest", lambda: "0" * 64)
    assert crds._compiled() == {}


def test_served_schemas_are_independent_copies_at_the_top(fresh_caches: None) -> None:
    first = crds.served_schema("keda.sh", "v1alpha1", "ScaledObject")
    assert first is not None
    first["properties"] = {}
    again = crds.served_schema("keda.sh", "v1alpha1", "ScaledObject")
    assert again is not None and "spec" in again["properties"]
    assert crds.served_schema("keda.sh", "v9", "ScaledObject") is None
