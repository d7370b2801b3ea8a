"""Plans and plan diffs as GitHub-flavoured Markdown, for pull-request comments and job summaries.

`plan_markdown` summarises one plan (counts by type, policy violations, schema errors, outputs and a Mermaid
diagram of the component tree, which GitHub renders); `diff_markdown` summarises `diff_plans`. Neither prints a
resource's inputs: the only values shown are outputs and changed properties, which the plan and the diff have
redacted already (secrets `[secret]`). Markers are plain words, so the comment reads the same in any client.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from llmscale.plan.diff import (
    AUTHORITATIVE_NOTE,
    PlanDiff,
    PropertyChange,
    change_header,
    format_value,
    value_lines,
)
from llmscale.plan.recorder import REDACTED
from llmscale.plan.report import cost_line

STACK_TYPE = "pulumi:pulumi:Stack"
MAX_TABLE_ROWS = 100
MAX_DETAIL_LINES = 400
MAX_BLOCK_PROPERTIES = 40
MAX_DIAGRAM_NODES = 80
_ENFORCEMENT_ORDER = {"mandatory": 0, "advisory": 1}


# --- Markdown helpers ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """Plain text safe in a table cell or a paragraph: no HTML, no pipes, no line breaks."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\s*\n\s*", " ", text).replace("|", "\\|")


def _code(value: Any) -> str:
    """An inline code span that survives backticks and pipes in the value (safe in table cells)."""
    text = re.sub(r"\s*\n\s*", " ", str(value)).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fenced(lines: list[str], language: str = "") -> list[str]:
    """A fenced block longer than any backtick run inside it, so the content cannot close it early."""
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *lines, fence]


def _more(total: int, what: str) -> list[str]:
    """The note under a list or table cut at MAX_TABLE_ROWS entries."""
    return ["", f"… and {total - MAX_TABLE_ROWS} more {what}."] if total > MAX_TABLE_ROWS else []


def _table(header: list[str], rows: list[list[str]], what: str) -> list[str]:
    """A Markdown table of at most MAX_TABLE_ROWS rows (cells already escaped), then how many were left out."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows[:MAX_TABLE_ROWS]),
        *_more(len(rows), what),
    ]


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


# --- the component tree ----------------------------------------------------------------------------------


def _node_id(name: str, used: set[str]) -> str:
    """A Mermaid-safe node id from a name: letters, digits and underscores, prefixed, unique."""
    base = "n_" + (re.sub(r"[^A-Za-z0-9_]", "_", name)[:48] or "x")
    candidate, suffix = base, 2
    while candidate in used:
        candidate, suffix = f"{base}_{suffix}", suffix + 1
    used.add(candidate)
    return candidate


_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;"}


def _label(*parts: str) -> str:
    """A quoted Mermaid label; `#`, quotes and angle brackets become entities so the label cannot break out."""
    safe = ["".join(_MERMAID_ENTITIES.get(char, char) for char in re.sub(r"\s+", " ", part)) for part in parts]
    return '["' + "<br/>".join(safe) + '"]'


def mermaid_tree(document: dict[str, Any], *, max_nodes: int = MAX_DIAGRAM_NODES) -> list[str]:
    """The stack's component tree as Mermaid `graph TD` lines (without the fence).

    Components are nodes; the cloud resources directly under a component are grouped by type (`3× aws:iam/
    role:Role`), a single one shown by name. When that is still more than `max_nodes` nodes, each component's
    resources collapse into one "N resources" node, and components past the limit into one "N more" node.
    """
    resources = document.get("resources") or []
    urns = {r["urn"] for r in resources}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for resource in resources:
        parent = resource.get("parentUrn") if resource.get("parentUrn") in urns else None
        children.setdefault(parent, []).append(resource)

    components: list[tuple[dict[str, Any], str | None]] = []  # (component, parent component urn)

    def walk(parent: str | None) -> None:
        for child in children.get(parent, []):
            if not child.get("custom", True):
                components.append((child, parent))
                walk(child["urn"])

    walk(None)
    groups: dict[str | None, list[tuple[str, list[dict[str, Any]]]]] = {}
    for parent in [None, *(c["urn"] for c, _ in components)]:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for child in children.get(parent, []):
            if child.get("custom", True):
                by_type.setdefault(child["type"], []).append(child)
        groups[parent] = list(by_type.items())

    collapse = 1 + len(components) + sum(len(g) for g in groups.values()) > max_nodes
    shown = components
    if collapse:
        # The root, its collapsed resources and a "more" node, then a component and its collapsed resources each.
        budget = max(1, (max_nodes - 3) // 2)
        shown = components[:budget]  # a prefix of a depth-first walk: every shown component's parent is shown
    shown_urns = {c["urn"] for c, _ in shown}
    hidden = [c["urn"] for c, _ in components if c["urn"] not in shown_urns]

    used: set[str] = set()
    stack = str(document.get("stack", ""))
    root = _node_id(f"stack_{stack}", used)
    names: dict[str | None, str] = {None: "stack"}
    lines = ["graph TD", f"  {root}{_label(f'llmscale-{stack}', STACK_TYPE)}"]
    edges: list[str] = []
    ids: dict[str | None, str] = {None: root}
    component_ids: list[str] = []
    for component, parent in shown:
        node = _node_id(component["name"], used)
        ids[component["urn"]] = node
        names[component["urn"]] = component["name"]
        component_ids.append(node)
        lines.append(f"  {node}{_label(component['name'], component['type'])}")
        edges.append(f"  {ids.get(parent if parent in shown_urns else None, root)} --> {node}")
    if hidden:
        node = _node_id("more_components", used)
        inside = sum(len(items) for urn in hidden for _, items in groups[urn])
        label = f"… {_plural(len(hidden), 'more component')} with {_plural(inside, 'resource')}"
        lines.append(f"  {node}{_label(label)}")
        edges.append(f"  {root} --> {node}")
    for parent, by_type in groups.items():
        if parent is not None and parent not in shown_urns:
            continue
        if collapse and by_type:
            count = sum(len(items) for _, items in by_type)
            node = _node_id(f"{names[parent]}_resources", used)
            lines.append(f"  {node}{_label(_plural(count, 'resource'))}")
            edges.append(f"  {ids[parent]} --> {node}")
            continue
        for kind, items in by_type:
            node = _node_id(f"{names[parent]}_{kind.rsplit(':', 1)[-1]}", used)
            label = _label(items[0]["name"], kind) if len(items) == 1 else _label(f"{len(items)}× {kind}")
            lines.append(f"  {node}{label}")
            edges.append(f"  {ids[parent]} --> {node}")
    lines += edges
    lines.append("  classDef component fill:#eef3fb,stroke:#4a6fa5")
    lines.append(f"  class {','.join([root, *component_ids])} component")
    return lines


# --- one plan --------------------------------------------------------------------------------------------


def _violation_rows(violations: list[dict[str, Any]]) -> list[list[str]]:
    ordered = sorted(violations, key=lambda v: _ENFORCEMENT_ORDER.get(str(v.get("enforcement")), 2))
    rows = []
    for violation in ordered:
        enforcement = str(violation.get("enforcement", ""))
        marker = f"**{enforcement.upper()}**" if enforcement == "mandatory" else _text(enforcement)
        resource = _code(violation["resource"]) if violation.get("resource") else "(stack)"
        rows.append([marker, _code(violation.get("policy", "")), resource, _text(violation.get("message", ""))])
    return rows


def plan_markdown(document: dict[str, Any]) -> str:
    """A pull-request-ready summary of one plan document from `plan_document`.

    Title with stack, tier and platform; the verdict (`llmscale plan` exits 1 on mandatory violations or schema
    errors); violations with mandatory ones first; schema errors; resources by type; outputs (redacted); the
    component tree as a Mermaid diagram. Inputs are never printed.
    """
    violations = document.get("violations") or []
    errors = document.get("schemaErrors") or []
    runtime = document.get("runtimeErrors") or []
    summary = document.get("summary") or {}
    mandatory = sum(1 for v in violations if v.get("enforcement") == "mandatory")
    where = f", region {_code(document['region'])}" if document.get("region") else ""
    lines = [
        f"## llmscale plan: {_code(document.get('stack', '?'))} "
        f"(tier {_text(document.get('tier', '?'))}, platform {_text(document.get('platform', '?'))})",
        "",
        f"From {_code(document.get('source', '?'))}{where}. "
        f"{_plural(summary.get('resources', len(document.get('resources') or [])), 'resource')} to create "
        f"({_plural(summary.get('customResources', 0), 'cloud resource')}, "
        f"{_plural(summary.get('components', 0), 'component')}); "
        f"{summary.get('unknownValues', 0)} input values known only after apply.",
        "",
    ]
    if mandatory or errors or runtime:
        lines.append(
            f"**Blocked: {_plural(mandatory, 'mandatory policy violation')}, {_plural(len(errors), 'schema error')}"
            f" and {_plural(len(runtime), 'run-time problem')} (`llmscale plan` exits 1).**"
        )
    else:
        lines.append("**Passes: no mandatory policy violations, no schema errors, no run-time problems.**")
    from llmscale.simulate.verdict import plan_verdict  # a simulated business day of this plan, in one line

    lines += ["", plan_verdict(document)]
    if summary.get("undecryptedSecrets"):
        secrets = ", ".join(_code(key) for key in summary["undecryptedSecrets"])
        lines += ["", f"Encrypted config not decrypted offline (shown as `{REDACTED}`): {secrets}."]
    cost = cost_line(document)
    if cost:
        # `\$` keeps GitHub from reading two amounts as the delimiters of a math formula.
        lines += ["", _text(cost).replace("$", "\\$")]

    lines += ["", f"### Policy violations ({len(violations)})", ""]
    if violations:
        lines += _table(["Enforcement", "Policy", "Resource", "Message"], _violation_rows(violations), "violations")
    else:
        lines.append("None.")

    lines += ["", f"### Schema errors ({len(errors)})", ""]
    lines += [f"- {_code(error)}" for error in errors[:MAX_TABLE_ROWS]] + _more(len(errors), "errors") or ["None."]
    if runtime:
        lines += ["", f"### Run-time problems ({len(runtime)})", ""]
        lines += [f"- {_code(error)}" for error in runtime[:MAX_TABLE_ROWS]] + _more(len(runtime), "problems")

    counts = document.get("counts") or dict(Counter(r["type"] for r in document.get("resources") or []))
    lines += ["", "### Resources by type", ""]
    lines += _table(["Type", "Count"], [[_code(kind), str(count)] for kind, count in counts.items()], "types")

    outputs = document.get("outputs") or {}
    if outputs:
        lines += ["", "### Outputs", ""]
        rows = [[_code(name), _code(format_value(value, 200))] for name, value in outputs.items()]
        lines += _table(["Output", "Value"], rows, "outputs")

    invokes = document.get("invokes") or []
    if invokes:
        lines += ["", "### Looked up at deploy time", ""]
        lines += [f"- {_code(invoke.get('token', '?'))}" for invoke in invokes]

    lines += ["", "### Component tree", "", *_fenced(mermaid_tree(document), "mermaid")]
    return "\n".join(lines) + "\n"


# --- a diff ----------------------------------------------------------------------------------------------


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
    return [[_code(ref.name), _code(ref.type)] for ref in refs]


def diff_verdict_line(diff: PlanDiff) -> str:
    """The verdict of a diff as one bold line naming the stack: what a reviewer must not miss."""
    return f"**{_code(diff.stack_label)}: {_text(diff.verdict.text)}**"


def _reasons(change: Any) -> str:
    return "; ".join(_text(reason) for reason in change.reasons) or ", ".join(_code(p) for p in change.replace_reasons)


def diff_markdown(diff: PlanDiff, *, title: bool = True) -> str:
    """A pull-request comment for a plan diff: the verdict, then what is replaced, deleted, created and updated.

    The verdict comes first (how much is destroyed or replaced, and whether any of it holds state or serves
    traffic); replacements and deletions come before creations and updates, each replacement with what forces it
    (chains through the resources it reads); changed properties sit in a collapsed block as `diff` code, secrets
    shown as `[secret]`. The note that `pulumi preview` is authoritative is part of the comment. Without `title`,
    the body alone, for a comment that shows the verdict in its own `<details>` summary.
    """
    lines = [diff_verdict_line(diff), "", f"## llmscale diff: {_code(diff.stack_label)}", ""] if title else []
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
        rows = [[_code(c.path), _code(format_value(c.old)), _code(format_value(c.new))] for c in diff.settings]
        lines += _table(["Setting", "Before", "After"], rows, "settings")
    if diff.replaced:
        lines += ["", f"### Replaced ({len(diff.replaced)})", ""]
        rows = [[_code(c.resource.name), _code(c.resource.type), _reasons(c)] for c in diff.replaced]
        lines += _table(["Resource", "Type", "Forced by"], rows, "resources")
    if diff.possibly_replaced:
        lines += ["", f"### May be replaced ({len(diff.possibly_replaced)})", ""]
        rows = [[_code(c.resource.name), _code(c.resource.type), _reasons(c)] for c in diff.possibly_replaced]
        lines += _table(["Resource", "Type", "Because"], rows, "resources")
    if diff.removed:
        lines += ["", f"### Deleted ({len(diff.removed)})", ""]
        lines += _table(["Resource", "Type"], _ref_rows(diff.removed), "resources")
    if diff.added:
        lines += ["", f"### Created ({len(diff.added)})", ""]
        lines += _table(["Resource", "Type"], _ref_rows(diff.added), "resources")
    if diff.changed:
        lines += ["", f"### Updated in place ({len(diff.changed)})", ""]
        rows = [
            [_code(c.resource.name), _code(c.resource.type), _plural(len(c.changes), "property", "properties")]
            for c in diff.changed
        ]
        lines += _table(["Resource", "Type", "Changed"], rows, "resources")

    blocks: list[list[str]] = []
    for label, changes in (
        ("replace", diff.replaced),
        ("may be replaced", diff.possibly_replaced),
        ("update", diff.changed),
    ):
        for change in changes:
            heading = f"#### {_code(change.resource.name)} ({_code(change.resource.type)}): {label}"
            blocks.append(["", heading, "", *_fenced(_property_block(change.changes), "diff")])
    if diff.outputs:
        blocks.append(["", "#### Outputs", "", *_fenced(_property_block(diff.outputs), "diff")])
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
        ignored = ", ".join(f"{_code(ref.name)} {_code(path)}" for ref, path in diff.ignored)
        lines += ["", f"Ignored by `ignoreChanges` (Pulumi keeps the current value): {ignored}."]

    if diff.counts:
        lines += ["", "### Resources by type", ""]
        rows = [[_code(kind), str(old), str(new)] for kind, (old, new) in diff.counts.items()]
        lines += _table(["Type", "Before", "After"], rows, "types")
    reworded = [v for v in diff.still_failing if "previousMessage" in v or "previousEnforcement" in v]
    if diff.new_violations or diff.resolved_violations or reworded:
        lines += ["", "### Policy violations", ""]
        lines += [
            f"{len(diff.new_violations)} new, {len(diff.resolved_violations)} resolved, "
            f"{len(diff.still_failing)} still failing (a rule failing on the same resource in both plans).",
            "",
        ]
        rows = [["new", *row] for row in _violation_rows(diff.new_violations)]
        rows += [["resolved", *row] for row in _violation_rows(diff.resolved_violations)]
        rows += [["still failing, reworded", *row] for row in _violation_rows(reworded)]
        lines += _table(["Change", "Enforcement", "Policy", "Resource", "Message"], rows, "violations")
    if diff.new_schema_errors or diff.resolved_schema_errors:
        lines += ["", "### Schema errors", ""]
        rows = [["new", _code(e)] for e in diff.new_schema_errors]
        rows += [["resolved", _code(e)] for e in diff.resolved_schema_errors]
        lines += _table(["Change", "Error"], rows, "errors")
    return "\n".join(lines) + "\n"


# --- the pull-request comment ----------------------------------------------------------------------------

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
        return _fenced((report.detail or "").rstrip("\n").split("\n")[-30:])
    if report.status == "new":
        if full and report.summary:
            return report.summary.rstrip("\n").split("\n")
        counts = (report.plan or {}).get("counts") or {}
        rows = [[_code(kind), str(count)] for kind, count in counts.items()]
        return _table(["Type", "Count"], rows, "types") if rows else ["No resources."]
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
            names = ", ".join(_code(name) for name in groups[level])
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
    head += [f"- {_code(r.name)}: {_text(_summary_text(r))}" for r in quiet]
    if quiet:
        head.append("")
    loud = sorted((r for r in reports if r not in quiet), key=lambda r: (_STATUS_ORDER.get(r.level, 9), r.name))
    failing = [r.name for r in reports if r.failing]
    foot = [f"**Failing:** {', '.join(_code(name) for name in failing)}.", ""] if failing else []
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
