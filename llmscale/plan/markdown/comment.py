"""The pull-request comment for every stack of a preview run, verdict first, within GitHub's comment limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from llmscale.plan.diff import (
    PlanDiff,
)
from llmscale.plan.markdown.blocks import _plural, _text, code, fenced, table
from llmscale.plan.markdown.diff_summary import diff_markdown

COMMENT_MARKER = "<!-- llmscale-preview -->"
COMMENT_LIMIT = 65_536  # characters GitHub accepts in an issue or pull-request comment
CUT_NOTE = (
    "… cut here: the comment would pass GitHub's 65,536-character limit. The whole report is in the job "
    "summary of this run, or run `llmscale diff` on the two plans."
)
_STATUS_ORDER = {"invalid": 0, "failed": 1, "destructive": 2, "possibly-destructive": 3, "in-place": 4, "new": 5}


@dataclass(frozen=True)
class StackReport:
    """One stack of a pull request, as the preview script leaves it: compared with the base branch, new,
    removed, unchanged, or not planned (`invalid` stack file, `failed` plan, `unusable` base plan).

    `diff` for compared stacks, `plan` for new ones, `summary` the plan's Markdown summary (job summary only),
    `detail` the error text or reason for the others.
    """

    name: str
    status: str
    diff: PlanDiff | None = None
    plan: dict[str, Any] | None = None
    summary: str | None = None
    detail: str | None = None
    failing: bool = False

    @property
    def level(self) -> str:
        """none, in-place, possibly-destructive or destructive for compared stacks; the status otherwise."""
        return self.diff.verdict.level if self.status == "compared" and self.diff is not None else self.status


def _summary_text(report: StackReport) -> str:
    """The one line that stands for a stack: in a `<details>` summary (HTML) or as a list item."""
    if report.diff is not None:
        if report.diff.verdict.level == "none":
            return f"no changes ({_plural(report.diff.unchanged, 'resource')})."
        return report.diff.verdict.text
    if report.status == "new" and report.plan is not None:
        return f"new stack: {_plural(len(report.plan.get('resources') or []), 'resource')} to create."
    return {
        "invalid": "invalid stack file.",
        "failed": "`llmscale plan` failed; see the job log.",
        "unusable": "not compared: no usable plan on the base branch; see the job log.",
        "removed": "removed. Deleting the stack file does not delete its resources: run `pulumi destroy` first.",
    }.get(report.status, report.status)


def _details(report: StackReport, body: list[str]) -> list[str]:
    summary = f"<b>{_text(report.name)}</b>: {_text(_summary_text(report))}"
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _block_body(report: StackReport, *, full: bool) -> list[str]:
    if report.diff is not None:
        body = diff_markdown(report.diff, title=False).rstrip("\n").split("\n")
        if full and report.summary:
            body += ["", "#### Plan summary", "", *report.summary.rstrip("\n").split("\n")]
        return body
    if report.status == "invalid":
        return fenced((report.detail or "").rstrip("\n").split("\n")[-30:])
    if report.status == "new":
        if full and report.summary:
            return report.summary.rstrip("\n").split("\n")
        counts = (report.plan or {}).get("counts") or {}
        rows = [[code(kind), str(count)] for kind, count in counts.items()]
        return table(["Type", "Count"], rows, "types") if rows else ["No resources."]
    return [_text(report.detail)] if report.detail else []


def _close(lines: list[str]) -> list[str]:
    """What closes the fences and `<details>` left open at the end of `lines`."""
    fence: str | None = None
    open_details = 0
    for line in lines:
        stripped = line.strip()
        if fence is not None:
            if stripped == fence:
                fence = None
            continue
        match = re.match(r"^(`{3,})", stripped)
        if match:
            fence = match.group(1)
        open_details += stripped.count("<details") - stripped.count("</details>")
    return ([fence] if fence else []) + ["</details>"] * max(open_details, 0)


def _cut(block: list[str], budget: int) -> list[str]:
    """The longest head of `block` that fits `budget` characters with its closing tags and the cut note."""
    kept: list[str] = []
    size = 0
    for line in block:
        tail = ["", CUT_NOTE, "", *_close([*kept, line])]
        if size + len(line) + 1 + sum(len(t) + 1 for t in tail) > budget:
            break
        kept.append(line)
        size += len(line) + 1
    return [*kept, "", CUT_NOTE, "", *_close(kept)]


def _length(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def overall_verdict(reports: list[StackReport]) -> str:
    """One line for all stacks: how many are destroyed or replaced in part, changed in place, unchanged, failing."""
    groups: dict[str, list[str]] = {}
    for report in reports:
        groups.setdefault(report.level, []).append(report.name)
    parts = []
    for level, label in (
        ("destructive", "destructive"),
        ("possibly-destructive", "possibly destructive"),
        ("invalid", "invalid"),
        ("failed", "not planned"),
        ("unusable", "not compared"),
        ("in-place", "changed in place"),
        ("new", "new"),
        ("removed", "removed"),
    ):
        if groups.get(level):
            names = ", ".join(code(name) for name in groups[level])
            parts.append(f"{len(groups[level])} {label} ({names})")
    unchanged = len(groups.get("none", []))
    if unchanged:
        parts.append(f"{unchanged} unchanged")
    head = (
        "DESTRUCTIVE"
        if groups.get("destructive")
        else "POSSIBLY DESTRUCTIVE"
        if groups.get("possibly-destructive")
        else "NO DESTRUCTION"
    )
    if not any(groups.get(level) for level in ("destructive", "possibly-destructive", "in-place", "new", "removed")):
        head = "NO CHANGES"
    return f"**llmscale preview: {head}.** {_plural(len(reports), 'stack')}: {'; '.join(parts) or 'none'}."


def pr_comment(reports: list[StackReport], intro: str = "", *, full: bool = False, limit: int = COMMENT_LIMIT) -> str:
    """The pull-request comment for every stack, verdict first, under `limit` characters.

    Unchanged and removed stacks are one line each; every other stack is a `<details>` block whose summary is its
    verdict (invalid stack files show their errors), the riskiest first. When the blocks do not fit, the block
    that reaches the limit is cut with a note and the ones after it keep only their summary line. With `full`
    (the job summary), plan summaries are included and nothing is cut.
    """
    head = [COMMENT_MARKER, overall_verdict(reports), ""]
    if intro:
        head += [intro, ""]
    quiet = [r for r in reports if r.level in ("none", "removed")]
    head += [f"- {code(r.name)}: {_text(_summary_text(r))}" for r in quiet]
    if quiet:
        head.append("")
    loud = sorted((r for r in reports if r not in quiet), key=lambda r: (_STATUS_ORDER.get(r.level, 9), r.name))
    failing = [r.name for r in reports if r.failing]
    foot = [f"**Failing:** {', '.join(code(name) for name in failing)}.", ""] if failing else []
    blocks = [_details(r, _block_body(r, full=full)) for r in loud]
    if full or _length(head) + sum(_length(b) for b in blocks) + _length(foot) < limit:
        return "\n".join([*head, *(line for block in blocks for line in block), *foot]).rstrip("\n") + "\n"
    shells = [_details(r, ["Not shown: the comment reached GitHub's size limit; see the job summary."]) for r in loud]
    budget = limit - _length(head) - _length(foot) - 1
    lines = list(head)
    for index, block in enumerate(blocks):
        rest = sum(_length(shell) for shell in shells[index + 1 :])
        if _length(block) + rest <= budget:
            chosen = block
        elif _length(shells[index]) + rest <= budget:
            # Cut inside the block's body, keeping its summary and closing tag.
            chosen = [*_cut(block[:-2], budget - rest - 1), ""]  # _cut closes the block's <details> too
            if not chosen[0].startswith("<details>") or _length(chosen) + rest > budget:
                chosen = shells[index]  # not even the summary line fits with the note: the short form
        else:
            chosen = []
        lines += chosen
        budget -= _length(chosen)
    return "\n".join([*lines, *foot]).rstrip("\n") + "\n"
