"""One plan as Markdown: verdict, violations, schema errors, counts by type, outputs and the component tree."""

from __future__ import annotations

from collections import Counter
from typing import Any

from llmscale.plan.diff import (
    format_value,
)
from llmscale.plan.markdown.blocks import ENFORCEMENT_ORDER, MAX_TABLE_ROWS, _plural, _text, code, fenced, more, table
from llmscale.plan.markdown.tree import mermaid_tree
from llmscale.plan.recorder import REDACTED
from llmscale.plan.report import cost_line


def violation_rows(violations: list[dict[str, Any]]) -> list[list[str]]:
    ordered = sorted(violations, key=lambda v: ENFORCEMENT_ORDER.get(str(v.get("enforcement")), 2))
    rows = []
    for violation in ordered:
        enforcement = str(violation.get("enforcement", ""))
        marker = f"**{enforcement.upper()}**" if enforcement == "mandatory" else _text(enforcement)
        resource = code(violation["resource"]) if violation.get("resource") else "(stack)"
        rows.append([marker, code(violation.get("policy", "")), resource, _text(violation.get("message", ""))])
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
    where = f", region {code(document['region'])}" if document.get("region") else ""
    lines = [
        f"## llmscale plan: {code(document.get('stack', '?'))} "
        f"(tier {_text(document.get('tier', '?'))}, platform {_text(document.get('platform', '?'))})",
        "",
        f"From {code(document.get('source', '?'))}{where}. "
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
        secrets = ", ".join(code(key) for key in summary["undecryptedSecrets"])
        lines += ["", f"Encrypted config not decrypted offline (shown as `{REDACTED}`): {secrets}."]
    cost = cost_line(document)
    if cost:
        # `\$` keeps GitHub from reading two amounts as the delimiters of a math formula.
        lines += ["", _text(cost).replace("$", "\\$")]

    lines += ["", f"### Policy violations ({len(violations)})", ""]
    if violations:
        lines += table(["Enforcement", "Policy", "Resource", "Message"], violation_rows(violations), "violations")
    else:
        lines.append("None.")

    lines += ["", f"### Schema errors ({len(errors)})", ""]
    lines += [f"- {code(error)}" for error in errors[:MAX_TABLE_ROWS]] + more(len(errors), "errors") or ["None."]
    if runtime:
        lines += ["", f"### Run-time problems ({len(runtime)})", ""]
        lines += [f"- {code(error)}" for error in runtime[:MAX_TABLE_ROWS]] + more(len(runtime), "problems")

    counts = document.get("counts") or dict(Counter(r["type"] for r in document.get("resources") or []))
    lines += ["", "### Resources by type", ""]
    lines += table(["Type", "Count"], [[code(kind), str(count)] for kind, count in counts.items()], "types")

    outputs = document.get("outputs") or {}
    if outputs:
        lines += ["", "### Outputs", ""]
        rows = [[code(name), code(format_value(value, 200))] for name, value in outputs.items()]
        lines += table(["Output", "Value"], rows, "outputs")

    invokes = document.get("invokes") or []
    if invokes:
        lines += ["", "### Looked up at deploy time", ""]
        lines += [f"- {code(invoke.get('token', '?'))}" for invoke in invokes]

    lines += ["", "### Component tree", "", *fenced(mermaid_tree(document), "mermaid")]
    return "\n".join(lines) + "\n"
