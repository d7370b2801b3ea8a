"""Plans and plan diffs as GitHub-flavoured Markdown, for pull-request comments and job summaries.

`plan_markdown` summarises one plan (counts by type, policy violations, schema errors, outputs and a Mermaid
diagram of the component tree, which GitHub renders); `diff_markdown` summarises `diff_plans`. Neither prints a
resource's inputs: the only values shown are outputs and changed properties, which the plan and the diff have
redacted already (secrets `[secret]`). Markers are plain words, so the comment reads the same in any client.
"""

from __future__ import annotations

import re
from collections import Counter
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
    if mandatory or errors:
        lines.append(
            f"**Blocked: {_plural(mandatory, 'mandatory policy violation')} and {_plural(len(errors), 'schema error')}"
            " (`llmscale plan` exits 1).**"
        )
    else:
        lines.append("**Passes: no mandatory policy violations, no schema errors.**")
    from llmscale.simulate.verdict import plan_verdict  # a simulated business day of this plan, in one line

    lines += ["", plan_verdict(document)]
    if summary.get("undecryptedSecrets"):
        secrets = ", ".join(_code(key) for key in summary["undecryptedSecrets"])
        lines += ["", f"Encrypted config not decrypted offline (shown as `{REDACTED}`): {secrets}."]

    lines += ["", f"### Policy violations ({len(violations)})", ""]
    if violations:
        lines += _table(["Enforcement", "Policy", "Resource", "Message"], _violation_rows(violations), "violations")
    else:
        lines.append("None.")

    lines += ["", f"### Schema errors ({len(errors)})", ""]
    lines += [f"- {_code(error)}" for error in errors[:MAX_TABLE_ROWS]] + _more(len(errors), "errors") or ["None."]

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


def diff_markdown(diff: PlanDiff) -> str:
    """A pull-request comment for a plan diff: the counts, then what is replaced, deleted, created and updated.

    Replacements and deletions come first (they lose data or cause downtime); changed properties sit in a
    collapsed block as `diff` code, secrets shown as `[secret]`. The note that `pulumi preview` is authoritative
    is part of the comment.
    """
    lines = [f"## llmscale diff: {_code(diff.stack_label)}", "", f"> {_text(AUTHORITATIVE_NOTE)}", ""]
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
        rows = [
            [_code(c.resource.name), _code(c.resource.type), ", ".join(_code(p) for p in c.replace_reasons)]
            for c in diff.replaced
        ]
        lines += _table(["Resource", "Type", "Forced by"], rows, "resources")
    if diff.possibly_replaced:
        lines += ["", f"### May be replaced ({len(diff.possibly_replaced)})", ""]
        rows = [
            [
                _code(c.resource.name),
                _code(c.resource.type),
                "; ".join(f"{_code(p.path)}: {_text(p.note or '')}" for p in c.changes if p.forces_replacement),
            ]
            for c in diff.possibly_replaced
        ]
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
    if diff.new_violations or diff.resolved_violations:
        lines += ["", "### Policy violations", ""]
        rows = [["new", *row] for row in _violation_rows(diff.new_violations)]
        rows += [["resolved", *row] for row in _violation_rows(diff.resolved_violations)]
        lines += _table(["Change", "Enforcement", "Policy", "Resource", "Message"], rows, "violations")
    if diff.new_schema_errors or diff.resolved_schema_errors:
        lines += ["", "### Schema errors", ""]
        rows = [["new", _code(e)] for e in diff.new_schema_errors]
        rows += [["resolved", _code(e)] for e in diff.resolved_schema_errors]
        lines += _table(["Change", "Error"], rows, "errors")
    return "\n".join(lines) + "\n"
