"""One resource's changes: the replace rules applied to its inputs, and the policy violations that come and go."""

from __future__ import annotations

from collections import Counter
from typing import Any

from llmscale.plan.diff.model import DISRUPTIVE_UPDATES, PropertyChange, PropertyPath
from llmscale.plan.diff.providers import _text
from llmscale.plan.diff.replace_table import ReplaceRule, TypeRules, rules_for
from llmscale.plan.diff.values import (
    _diff_values,
    _holds,
    equal,
    format_path,
    normalize,
    overlaps,
    parse_path,
    starts_with,
)
from llmscale.plan.recorder import UNKNOWN_TEXT


def condition_holds(
    alternative: dict[str, Any], inputs: dict[str, Any], config: dict[str, Any] | None, old: Any, new: Any
) -> bool | None:
    """One `when` alternative: True, False, or None when the plans cannot tell."""
    if "input" in alternative:
        value = inputs.get(alternative["input"])
        if value == UNKNOWN_TEXT:
            return None
        return equal(value, alternative.get("equals"))
    if "providerConfig" in alternative:
        if config is None:
            return None
        value = config.get(alternative["providerConfig"])
        if value == UNKNOWN_TEXT:
            return None
        return _text(value) != _text(alternative.get("notEquals")) if value is not None else True
    if "old" in alternative or "new" in alternative:
        if UNKNOWN_TEXT in (old, new):
            return None
        return equal(old, alternative.get("old")) and equal(new, alternative.get("new"))
    return None


def _rule_result(
    rule: ReplaceRule, inputs: dict[str, Any], config: dict[str, Any] | None, old: Any, new: Any
) -> bool | None:
    """Whether a matching rule replaces: True, False, or None (it may, under a condition the plans cannot settle)."""
    if rule.when:
        results = [condition_holds(alternative, inputs, config, old, new) for alternative in rule.when]
        if any(result is True for result in results):
            return True
        return None if any(result is None for result in results) else False
    return None if rule.condition else True


def _forcing(
    rules: TypeRules,
    path: PropertyPath,
    inputs: dict[str, Any],
    config: dict[str, Any] | None,
    old: Any = None,
    new: Any = None,
) -> tuple[bool | None, str | None]:
    """Whether a change at `path` (old → new) replaces the resource, and a note when it may or cannot tell."""

    def touches(rule_path: PropertyPath) -> bool:
        """The change is at or below `rule_path`, or replaces an object that holds something there."""
        if not overlaps(path, rule_path):
            return False
        rest = rule_path[len(path) :]
        return not rest or _holds(old, rest) or _holds(new, rest)

    maybe_note: str | None = None
    for rule in rules.rules:
        if not touches(rule.path):
            continue
        result = _rule_result(rule, inputs, config, old, new)
        if result is True:
            return True, None
        if result is None:
            maybe_note = f"replaced only under a condition: {rule.condition or 'one the plans cannot settle'}"
    if maybe_note:
        return None, maybe_note
    if any(touches(unverified) for unverified in rules.unverified):
        return None, "no replace rule known for this input (newer than the provider source the table was read from)"
    return False, None


def resource_changes(
    old: dict[str, Any], new: dict[str, Any], config: dict[str, Any] | None
) -> tuple[list[PropertyChange], list[str]]:
    """The resource's property changes (replacement marked) and the paths set aside by ignoreChanges."""
    kind = new["type"]
    old_inputs, new_inputs = normalize(old.get("inputs") or {}), normalize(new.get("inputs") or {})
    raw: list[tuple[PropertyPath, str, Any, Any]] = []
    _diff_values(old_inputs, new_inputs, (), raw)
    ignore = [parse_path(p) for p in new.get("ignoreChanges") or [] if isinstance(p, str)]
    rules = rules_for(new)
    custom = bool(new.get("custom", True))
    changes: list[PropertyChange] = []
    ignored: list[str] = []
    for path, change_kind, old_value, new_value in raw:
        if any(starts_with(path, prefix) for prefix in ignore):
            ignored.append(format_path(path))
            continue
        forces, note = _forcing(rules, path, new_inputs, config, old_value, new_value) if custom else (False, None)
        changes.append(
            PropertyChange(
                path=format_path(path),
                kind=change_kind,
                old=old_value,
                new=new_value,
                forces_replacement=forces is not False,
                note=note or DISRUPTIVE_UPDATES.get((kind, format_path(path))),
                possibly=forces is None,
            )
        )
    return changes, ignored


def _violation_key(violation: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(violation.get("policy")),
        str(violation.get("enforcement")),
        str(violation.get("resource")),
        str(violation.get("message")),
    )


def multiset_minus(items: list[Any], other: list[Any], key: Any) -> list[Any]:
    """Items of `items` not matched one-for-one in `other`, in order."""
    remaining = Counter(key(item) for item in other)
    left = []
    for item in items:
        k = key(item)
        if remaining[k]:
            remaining[k] -= 1
        else:
            left.append(item)
    return left


def policy_changes(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Violations keyed by (policy, resource): (new, resolved, still failing).

    A rule that fails on the same resource in both plans is still failing, whatever its message or enforcement
    says now (messages carry figures that change with the config); the old message and enforcement are kept
    beside the new ones when they differ. Exact matches pair first, so duplicates pair up predictably.
    """

    def rule_key(violation: dict[str, Any]) -> tuple[str, str]:
        return str(violation.get("policy")), str(violation.get("resource"))

    unmatched_old = list(old)
    still: list[dict[str, Any]] = []
    appeared: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for violation in new:  # exact matches first
        twin = next((o for o in unmatched_old if _violation_key(o) == _violation_key(violation)), None)
        if twin is not None:
            unmatched_old.remove(twin)
            still.append(dict(violation))
        else:
            pending.append(violation)
    for violation in pending:
        twin = next((o for o in unmatched_old if rule_key(o) == rule_key(violation)), None)
        if twin is None:
            appeared.append(violation)
            continue
        unmatched_old.remove(twin)
        entry = dict(violation)
        for key, label in (("message", "previousMessage"), ("enforcement", "previousEnforcement")):
            if twin.get(key) != violation.get(key):
                entry[label] = twin.get(key)
        still.append(entry)
    return appeared, unmatched_old, still


_MISSING = object()


def value_at(value: Any, path: PropertyPath) -> Any:
    for segment in path:
        if isinstance(value, list) and isinstance(segment, int) and 0 <= segment < len(value):
            value = value[segment]
            continue
        if not (isinstance(value, dict) and isinstance(segment, str) and segment in value):
            return _MISSING
        value = value[segment]
    return value


def holds_unknown(value: Any) -> bool:
    if value == UNKNOWN_TEXT:
        return True
    if isinstance(value, dict):
        return any(holds_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_unknown(v) for v in value)
    return False
