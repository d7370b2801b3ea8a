"""The diff as JSON, for machines (`llmscale diff --json`)."""

from __future__ import annotations

from typing import Any

from llmscale.plan.diff.model import AUTHORITATIVE_NOTE, DIFF_FORMAT_VERSION, PlanDiff, PropertyChange


def _change_entry(change: PropertyChange) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": change.path, "kind": change.kind, "old": change.old, "new": change.new}
    if change.forces_replacement:
        entry["forcesReplacement"] = "possibly" if change.maybe else True
    if change.note:
        entry["note"] = change.note
    return entry


def diff_document(diff: PlanDiff) -> dict[str, Any]:
    """The diff as JSON-ready data (`llmscale diff --json`): the verdict, counts by action, every resource of
    both plans with its action (one of ACTIONS) and reasons, outputs, policy and schema changes."""
    verdict = diff.verdict
    return {
        "formatVersion": DIFF_FORMAT_VERSION,
        "stack": diff.stack_label,
        "oldSource": diff.old_source,
        "newSource": diff.new_source,
        "verdict": {
            "level": verdict.level,
            "text": verdict.text,
            "critical": [
                {
                    "urn": a.resource.urn,
                    "type": a.resource.type,
                    "name": a.resource.name,
                    "action": a.action,
                    "category": a.critical,
                }
                for a in verdict.critical
            ],
        },
        "counts": diff.action_counts(),
        "resources": [
            {
                "urn": a.resource.urn,
                "type": a.resource.type,
                "name": a.resource.name,
                "action": a.action,
                "reasons": list(a.reasons),
                "changes": [_change_entry(c) for c in a.changes],
            }
            for a in diff.resources
        ],
        "outputs": [_change_entry(c) for c in diff.outputs],
        "policy": {
            "new": diff.new_violations,
            "resolved": diff.resolved_violations,
            "stillFailing": diff.still_failing,
            "mandatoryAfter": diff.mandatory_after,
        },
        "schema": {
            "new": diff.new_schema_errors,
            "resolved": diff.resolved_schema_errors,
            "errorsAfter": diff.schema_errors_after,
        },
        "settings": [_change_entry(c) for c in diff.settings],
        "typeCounts": {kind: {"old": old, "new": new} for kind, (old, new) in diff.counts.items()},
        "ignored": [{"name": ref.name, "urn": ref.urn, "path": path} for ref, path in diff.ignored],
        "warnings": diff.warnings,
        "note": AUTHORITATIVE_NOTE,
    }
