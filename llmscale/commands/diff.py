"""`llmscale diff OLD.json NEW.json`: what a change to the stack does, from two offline plans.

The report is the command's product, so it goes to stdout (text, Markdown for a pull-request comment with
`--markdown`, or the JSON document with `--json`); notes go to stderr. Exit 0 whatever the differences (policy
findings are `llmscale plan`'s to fail on), 2 when a file is missing, unreadable or not an llmscale plan.

`llmscale diff-comment DIR` writes the pull-request comment for every stack of a preview run (the directory
`scripts/pr-preview.sh` fills: one folder per stack with its status and plans), under GitHub's size limit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmscale.commands.usage import fail, usage_error

if TYPE_CHECKING:
    from llmscale.plan.markdown import StackReport


def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD.json", help="The plan before the change (e.g. the base branch).")],
    new: Annotated[Path, typer.Argument(metavar="NEW.json", help="The plan after the change (e.g. the pull request).")],
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print GitHub-flavoured Markdown for a pull-request comment.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the diff as JSON: verdict, counts, every resource with its action and reasons, outputs, "
            "policy and schema changes.",
        ),
    ] = False,
) -> None:
    """Compare two plans (from `llmscale plan --json`): resources created, deleted, replaced, updated, and why."""
    from llmscale.plan.diff import PlanFileError, diff_document, diff_plans, load_plan, render_diff_text
    from llmscale.plan.markdown import diff_markdown

    if markdown and as_json:
        raise fail(["--markdown and --json: choose one"])
    plans = []
    for label, path in (("OLD.json", old), ("NEW.json", new)):
        try:
            plans.append(load_plan(path))
        except PlanFileError as error:
            raise fail([str(error)]) from None
        except RecursionError:
            raise usage_error(label, "nested too deeply to be a plan file") from None
    try:
        result = diff_plans(*plans)
    except PlanFileError as error:
        raise fail([str(error)]) from None
    if as_json:
        typer.echo(json.dumps(diff_document(result), indent=2, ensure_ascii=False, default=str))
        for warning in result.warnings:
            typer.echo(f"warning: {warning}", err=True)
        return
    if not markdown:
        typer.echo(render_diff_text(result))
        return
    # Markdown usually goes to a file or a comment: the warnings and the counts also reach the person running it.
    typer.echo(diff_markdown(result), nl=False)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{result.stack_label}: {result.summary_line()}", err=True)


STATUSES = ("compared", "new", "removed", "invalid", "failed", "unusable")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def read_stack_report(folder: Path) -> StackReport:
    """One stack's folder of a preview run: `status` (one of STATUSES), `new.json`, `base.json`, `summary.md`,
    `error.txt` and `failing` (present when the pull request's plan has findings). A compared stack whose plans
    cannot be read is reported as not compared, with the reason."""
    from llmscale.plan.diff import PlanFileError, diff_plans, load_plan
    from llmscale.plan.markdown import StackReport

    name = folder.name
    status = (_read(folder / "status") or "").strip()
    if status not in STATUSES:
        raise ValueError(f"{folder / 'status'}: must be one of {', '.join(STATUSES)}")
    summary = _read(folder / "summary.md")
    failing = (folder / "failing").exists() or status in ("invalid", "failed")
    detail = _read(folder / "error.txt")
    if status in ("compared", "new"):
        try:
            new_plan = load_plan(folder / "new.json")
            if status == "new":
                return StackReport(name, status, plan=new_plan, summary=summary, failing=failing)
            return StackReport(
                name,
                status,
                diff=diff_plans(load_plan(folder / "base.json"), new_plan),
                summary=summary,
                failing=failing,
            )
        except PlanFileError as error:
            return StackReport(name, "unusable", summary=summary, detail=str(error), failing=failing)
    return StackReport(name, status, summary=summary, detail=detail, failing=failing)


def diff_comment(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The preview run's folder: one subfolder per stack.")],
    full: Annotated[
        bool, typer.Option("--full", help="Everything, plan summaries included, uncut (for the job summary).")
    ] = False,
    intro: Annotated[str, typer.Option("--intro", help="A paragraph under the verdict (what was compared).")] = "",
) -> None:
    """Print the pull-request comment for every stack of a preview run, verdict first, under 65,536 characters."""
    from llmscale.plan.markdown import pr_comment

    if not folder.is_dir():
        raise fail([f"{folder}: no such directory"])
    try:
        reports = [read_stack_report(path) for path in sorted(folder.iterdir()) if path.is_dir()]
    except ValueError as error:
        raise fail([str(error)]) from None
    typer.echo(pr_comment(reports, intro, full=full), nl=False)
    for report in reports:
        typer.echo(f"{report.name}: {report.diff.summary_line() if report.diff else report.status}", err=True)


def register(app: typer.Typer) -> None:
    """Add `diff OLD.json NEW.json [--markdown | --json]` and `diff-comment DIR` to a Typer app."""
    app.command("diff")(diff)
    app.command("diff-comment")(diff_comment)
