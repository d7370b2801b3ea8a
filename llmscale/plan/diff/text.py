"""The diff as text, for people: a summary, one block per changed resource, values shown side by side."""

from __future__ import annotations

import difflib
import json
from typing import Any

from llmscale.plan.diff.model import AUTHORITATIVE_NOTE, PlanDiff, PropertyChange
from llmscale.plan.recorder import REDACTED, UNKNOWN_TEXT


def format_value(value: Any, limit: int = 120) -> str:
    """A value on one line, JSON-quoted so that `"8192"` and `8192` differ, cut to `limit` characters."""
    if value in (UNKNOWN_TEXT, REDACTED):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _window(old: str, new: str, width: int) -> tuple[str, str]:
    """Both strings cut to the same `width` window around their first difference, `…` where cut."""
    if max(len(old), len(new)) <= width:
        return old, new
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    start = max(0, first - width // 4)

    def cut(text: str) -> str:
        return ("…" if start else "") + text[start : start + width] + ("…" if start + width < len(text) else "")

    return cut(old), cut(new)


def _line_diff(old: str, new: str, limit: int, max_lines: int) -> list[str]:
    """A unified diff of two texts without context; a line replaced by one line shows around where it differs."""
    body = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))[2:]  # no file headers
    lines: list[str] = []
    index = 0
    while index < len(body):
        removed = 0
        while index + removed < len(body) and body[index + removed].startswith("-"):
            removed += 1
        added = 0
        while index + removed + added < len(body) and body[index + removed + added].startswith("+"):
            added += 1
        if removed and removed == added:
            pairs = [_window(body[index + i][1:], body[index + removed + i][1:], limit - 2) for i in range(removed)]
            lines += [f"-{a}" for a, _ in pairs] + [f"+{b}" for _, b in pairs]
            index += removed + added
            continue
        step = max(1, removed + added)
        lines += [line if len(line) <= limit else line[: limit - 1] + "…" for line in body[index : index + step]]
        index += step
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… {len(lines) - max_lines} more lines"]
    return lines


def value_lines(change: PropertyChange, *, limit: int = 120, max_lines: int = 24) -> list[str]:
    """How a property change reads, one string per line, without the path: `- old` / `+ new` lines.

    Multi-line strings (cloud-init user data, rendered configs) show as a line diff of what changed, capped at
    `max_lines`; long single-line strings show the part around the first difference.
    """
    old, new = change.old, change.new
    if change.kind == "add":
        return [f"+ {format_value(new, limit)}"]
    if change.kind == "delete":
        return [f"- {format_value(old, limit)}"]
    if isinstance(old, str) and isinstance(new, str):
        if "\n" in old or "\n" in new:
            return _line_diff(old, new, limit, max_lines)
        if max(len(old), len(new)) > limit:
            a, b = _window(json.dumps(old, ensure_ascii=False), json.dumps(new, ensure_ascii=False), limit - 2)
            return [f"- {a}", f"+ {b}"]
    return [f"- {format_value(old, limit)}", f"+ {format_value(new, limit)}"]


def change_header(change: PropertyChange) -> str:
    """The line naming a changed property: `~ path  (forces replacement; note)`, `+ path` or `- path`."""
    marker = {"add": "+", "delete": "-", "update": "~"}[change.kind]
    extras = []
    if change.forces_replacement:
        extras.append("may force replacement" if change.maybe else "forces replacement")
    if change.note:
        extras.append(change.note)
    return f"{marker} {change.path}" + (f"  ({'; '.join(extras)})" if extras else "")


def _violation_text(violation: dict[str, Any]) -> str:
    where = f" [{violation['resource']}]" if violation.get("resource") else ""
    return (
        f"{violation.get('enforcement', '?'):<9} {violation.get('policy', '?')}{where}: {violation.get('message', '')}"
    )


def render_diff_text(diff: PlanDiff) -> str:
    """The diff as a terminal reads it: `+` create, `-` delete, `+-` replace, `+-?` may be replaced, `~` update."""
    source = diff.new_source if diff.old_source == diff.new_source else f"{diff.old_source} → {diff.new_source}"
    lines = [f"Verdict: {diff.verdict.text}", "", f"Plan diff for stack {diff.stack_label} ({source})"]
    lines += [AUTHORITATIVE_NOTE, ""]
    if diff.warnings:
        lines += [*(f"warning: {warning}" for warning in diff.warnings), ""]
    if diff.settings:
        lines += [f"  ~ {c.path}: {format_value(c.old)} → {format_value(c.new)}" for c in diff.settings]
        lines.append("")
    if not diff.has_resource_changes:
        lines.append("No resource changes.")
    changes = [*diff.replaced, *diff.possibly_replaced, *diff.changed]
    width = max((len(ref.type) for ref in [*diff.added, *diff.removed, *(c.resource for c in changes)]), default=0)
    width += 2
    for ref in diff.added:
        lines.append(f" +   {ref.type.ljust(width)}{ref.name}  (create)")
    for ref in diff.removed:
        lines.append(f" -   {ref.type.ljust(width)}{ref.name}  (delete)")
    for marker, label, group in (
        ("+-", "replace", diff.replaced),
        ("+-?", "may be replaced", diff.possibly_replaced),
        ("~", "update", diff.changed),
    ):
        for change in group:
            reason = f": {', '.join(change.replace_reasons)}" if change.replaced else ""
            resource = change.resource
            lines.append(f" {marker:<3} {resource.type.ljust(width)}{resource.name}  ({label}{reason})")
            for prop in change.changes:
                lines.append(f"       {change_header(prop)}")
                lines += [f"           {line}" for line in value_lines(prop) if not prop.uncertain]
    if diff.ignored:
        lines += ["", "Ignored (ignoreChanges; Pulumi keeps the current value):"]
        lines += [f"  {ref.name}: {path}" for ref, path in diff.ignored]
    if diff.outputs:
        lines += ["", "Outputs:"]
        for prop in diff.outputs:
            lines.append(f"  {change_header(prop)}")
            lines += [f"      {line}" for line in value_lines(prop)]
    if diff.counts:
        lines += ["", "Resources by type (old → new):"]
        lines += [f"  {old:>4} → {new:<4} {kind}" for kind, (old, new) in diff.counts.items()]
    reworded = [v for v in diff.still_failing if "previousMessage" in v or "previousEnforcement" in v]
    if diff.new_violations or diff.resolved_violations or reworded:
        lines += [
            "",
            f"Policy violations: {len(diff.new_violations)} new, {len(diff.resolved_violations)} resolved, "
            f"{len(diff.still_failing)} still failing",
        ]
        lines += [f"  new       {_violation_text(v)}" for v in diff.new_violations]
        lines += [f"  resolved  {_violation_text(v)}" for v in diff.resolved_violations]
        # Still failing with the same words: counted only; with new words: both, so the change reads.
        for violation in reworded:
            was = {**violation, "message": violation.get("previousMessage", violation.get("message"))}
            was["enforcement"] = violation.get("previousEnforcement", violation.get("enforcement"))
            lines += [f"  still     {_violation_text(violation)}", f"    (was  {_violation_text(was)})"]
    if diff.new_schema_errors or diff.resolved_schema_errors:
        lines += [
            "",
            f"Schema errors: {len(diff.new_schema_errors)} new, {len(diff.resolved_schema_errors)} resolved",
        ]
        lines += [f"  new       {error}" for error in diff.new_schema_errors]
        lines += [f"  resolved  {error}" for error in diff.resolved_schema_errors]
    lines += ["", f"{diff.summary_line()}."]
    if diff.mandatory_after or diff.schema_errors_after:
        lines.append(
            f"The new plan has {diff.mandatory_after} mandatory policy violation(s) and "
            f"{diff.schema_errors_after} schema error(s): `llmscale plan` exits 1 on it."
        )
    return "\n".join(lines)
