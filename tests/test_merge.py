"""Tests for the deep merge layered settings use (tier presets under a stack's values)."""

from __future__ import annotations

from llmscale.merge import deep_merge


def test_mappings_merge_key_by_key_and_the_override_wins() -> None:
    base = {"gpu": {"instanceType": "g6e.xlarge", "count": 1}, "region": "eu-west-1"}
    override = {"gpu": {"count": 2}, "environment": "production"}
    assert deep_merge(base, override) == {
        "gpu": {"instanceType": "g6e.xlarge", "count": 2},
        "region": "eu-west-1",
        "environment": "production",
    }


def test_lists_and_scalars_are_replaced_not_merged() -> None:
    assert deep_merge({"zones": ["a", "b"]}, {"zones": ["c"]}) == {"zones": ["c"]}
    assert deep_merge({"schedule": {"enabled": True}}, {"schedule": None}) == {"schedule": None}
    assert deep_merge({"x": 1}, {"x": {"y": 2}}) == {"x": {"y": 2}}


def test_neither_argument_changes() -> None:
    base = {"a": {"b": 1}}
    override = {"a": {"c": 2}}
    merged = deep_merge(base, override)
    merged["a"]["d"] = 3
    assert base == {"a": {"b": 1}}
    assert override == {"a": {"c": 2}}
