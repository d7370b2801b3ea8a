"""`llmscale diff OLD.json NEW.json`: what a change to the stack does, from two offline plans.

The report is the command's product, so it goes to stdout (text, or Markdown for a pull-request comment with
`--markdown`); notes go to stderr. Exit 0 whatever the differences (policy findings are `llmscale plan`'s to
fail on), 2 when a file is missing, unreadable or not an llmscale plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llmscale.commands.usage import one_line, usage_error


def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD.json", help="The plan before the change (e.g. the base branch).")],
    new: Annotated[Path, typer.Argument(metavar="NEW.json", help="The plan after the change (e.g. the pull request).")],
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print GitHub-flavoured Markdown for a pull-request comment.")
    ] = False,
) -> None:
    """Compare two plans (from `llmscale plan --json`): resources created, deleted, replaced, updated."""
    from llmscale.plan.diff import PlanFileError, diff_plans, load_plan, render_diff_text
    from llmscale.plan.markdown import diff_markdown

    plans = []
    for label, path in (("OLD.json", old), ("NEW.json", new)):
        try:
            plans.append(load_plan(path))
        except PlanFileError as error:
            typer.echo(one_line(str(error)), err=True)
            raise typer.Exit(2) from None
        except RecursionError:
            raise usage_error(label, "nested too deeply to be a plan file") from None
    try:
        result = diff_plans(*plans)
    except PlanFileError as error:
        typer.echo(one_line(str(error)), err=True)
        raise typer.Exit(2) from None
    if not markdown:
        typer.echo(render_diff_text(result))
        return
    # Markdown usually goes to a file or a comment: the warnings and the counts also reach the person running it.
    typer.echo(diff_markdown(result), nl=False)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{result.stack_label}: {result.summary_line()}", err=True)


def register(app: typer.Typer) -> None:
    """Add `diff OLD.json NEW.json [--markdown]` to a Typer app."""
    app.command("diff")(diff)
