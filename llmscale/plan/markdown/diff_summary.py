"""A plan diff as Markdown: the verdict, then what is replaced, deleted, created and updated, and why."""

from __future__ import annotations

from typing import Any

from llmscale.plan.diff import (
    AUTHORITATIVE_NOTE,
    PlanDiff,
    PropertyChange,
    change_header,
    format_value,
    value_lines,
)
from llmscale.plan.markdown.blocks import MAX_BLOCK_PROPERTIES, MAX_DETAIL_LINES, _plural, _text, code, fenced, table
from llmscale.plan.markdown.plan_summary import violation_rows


def _property_block(props: tuple[PropertyChange, ...] | list[PropertyChange]) -> list[str]:
    """Changed properties as the body of a `diff` block: `-` lines red, `+` lines green on GitHub."""
    lines: list[str] = []
    for prop in props[:MAX_BLOCK_PROPERTIES]:
        lines.append(change_header(prop))
        if not prop.uncertain:
            lines += [line if line.startswith(("-", "+")) else f"  {line}" for line in value_lines(prop)]
    if len(props) > MAX_BLOCK_PROPERTIES:
        lines.append(f"  … {len(props) - MAX_BLOCK_PROPERTIES} more properties")
    return lines


def _ref_rows(refs: list[Any]) -> list[list[str]]:
    return [[code(ref.name), code(ref.type)] for ref in refs]


def diff_verdict_line(diff: PlanDiff) -> str:
    """The verdict of a diff as one bold line naming the stack: what a reviewer must not miss."""
    return f"**{code(diff.stack_label)}: {_text(diff.verdict.text)}**"


def _reasons(change: Any) -> str:
    return "; ".join(_text(reason) for reason in change.reasons) or ", ".join(code(p) for p in change.replace_reasons)


def diff_markdown(diff: PlanDiff, *, title: bool = True) -> str:
    """A pull-request comment for a plan diff: the verdict, then what is replaced, deleted, created and updated.

    The verdict comes first (how much is destroyed or replaced, and whether any of it holds state or serves
    traffic); replacements and deletions come before creations and updates, each replacement with what forces it
    (chains through the resources it reads); changed properties sit in a collapsed block as `diff` code, secrets
    shown as `[secret]`. The note that `pulumi preview` is authoritative is part of the comment. Without `title`,
    the body alone, for a comment that shows the verdict in its own `<details>` summary.
    """
    lines = [diff_verdict_line(diff), "", f"## llmscale diff: {code(diff.stack_label)}", ""] if title else []
    lines += [f"> {_text(AUTHORITATIVE_NOTE)}", ""]
    lines += [f"> **Warning:** {_text(warning)}" for warning in diff.warnings]
    if diff.warnings:
        lines.append("")
    lines.append(f"**{diff.summary_line()}.**")
    if diff.mandatory_after or diff.schema_errors_after:
        lines += [
            "",
            f"**Blocked: the new plan has {_plural(diff.mandatory_after, 'mandatory policy violation')} and "
            f"{_plural(diff.schema_errors_after, 'schema error')} (`llmscale plan` exits 1).**",
        ]

    if diff.settings:
        lines += ["", "### Stack settings", ""]
        rows = [[code(c.path), code(format_value(c.old)), code(format_value(c.new))] for c in diff.settings]
        lines += table(["Setting", "Before", "After"], rows, "settings")
    if diff.replaced:
        lines += ["", f"### Replaced ({len(diff.replaced)})", ""]
        rows = [[code(c.resource.name), code(c.resource.type), _reasons(c)] for c in diff.replaced]
        lines += table(["Resource", "Type", "Forced by"], rows, "resources")
    if diff.possibly_replaced:
        lines += ["", f"### May be replaced ({len(diff.possibly_replaced)})", ""]
        rows = [[code(c.resource.name), code(c.resource.type), _reasons(c)] for c in diff.possibly_replaced]
        lines += table(["Resource", "Type", "Because"], rows, "resources")
    if diff.removed:
        lines += ["", f"### Deleted ({len(diff.removed)})", ""]
        lines += table(["Resource", "Type"], _ref_rows(diff.removed), "resources")
    if diff.added:
        lines += ["", f"### Created ({len(diff.added)})", ""]
        lines += table(["Resource", "Type"], _ref_rows(diff.added), "resources")
    if diff.changed:
        lines += ["", f"### Updated in place ({len(diff.changed)})", ""]
        rows = [
            [code(c.resource.name), code(c.resource.type), _plural(len(c.changes), "property", "properties")]
            for c in diff.changed
        ]
        lines += table(["Resource", "Type", "Changed"], rows, "resources")

    blocks: list[list[str]] = []
    for label, changes in (
        ("replace", diff.replaced),
        ("may be replaced", diff.possibly_replaced),
        ("update", diff.changed),
    ):
        for change in changes:
            heading = f"#### {code(change.resource.name)} ({code(change.resource.type)}): {label}"
            blocks.append(["", heading, "", *fenced(_property_block(change.changes), "diff")])
    if diff.outputs:
        blocks.append(["", "#### Outputs", "", *fenced(_property_block(diff.outputs), "diff")])
    if blocks:
        details: list[str] = []
        for index, block in enumerate(blocks):
            if details and len(details) + len(block) > MAX_DETAIL_LINES:
                details += [
                    "",
                    f"… {len(blocks) - index} more not shown: run `llmscale diff` on the two plans to see everything.",
                ]
                break
            details += block
        lines += ["", "<details><summary>Changed properties</summary>", *details, "", "</details>"]
    if diff.ignored:
        ignored = ", ".join(f"{code(ref.name)} {code(path)}" for ref, path in diff.ignored)
        lines += ["", f"Ignored by `ignoreChanges` (Pulumi keeps the current value): {ignored}."]

    if diff.counts:
        lines += ["", "### Resources by type", ""]
        rows = [[code(kind), str(old), str(new)] for kind, (old, new) in diff.counts.items()]
        lines += table(["Type", "Before", "After"], rows, "types")
    reworded = [v for v in diff.still_failing if "previousMessage" in v or "previousEnforcement" in v]
    if diff.new_violations or diff.resolved_violations or reworded:
        lines += ["", "### Policy violations", ""]
        lines += [
            f"{len(diff.new_violations)} new, {len(diff.resolved_violations)} resolved, "
            f"{len(diff.still_failing)} still failing (a rule failing on the same resource in both plans).",
            "",
        ]
        rows = [["new", *row] for row in violation_rows(diff.new_violations)]
        rows += [["resolved", *row] for row in violation_rows(diff.resolved_violations)]
        rows += [["still failing, reworded", *row] for row in violation_rows(reworded)]
        lines += table(["Change", "Enforcement", "Policy", "Resource", "Message"], rows, "violations")
    if diff.new_schema_errors or diff.resolved_schema_errors:
        lines += ["", "### Schema errors", ""]
        rows = [["new", code(e)] for e in diff.new_schema_errors]
        rows += [["resolved", code(e)] for e in diff.resolved_schema_errors]
        lines += table(["Change", "Error"], rows, "errors")
    return "\n".join(lines) + "\n"
