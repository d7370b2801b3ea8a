"""The `llmscale` command: validate, plan and render stacks without a cloud account.

Exit codes: 0 ok, 1 findings (mandatory policy violations, schema errors, run-time problems), 2 usage or config
error, 3 internal error (a bug in llmscale: one line on stderr, nothing on stdout). Human output goes to stderr;
`--json` documents go to stdout. A usage error is one line naming the option, whatever was typed (click's own
messages included), never a traceback.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import pulumi
import typer
from typer.core import TyperGroup

from llmscale import __version__
from llmscale.commands.diff import register as register_diff
from llmscale.commands.loadtest import register as register_loadtest
from llmscale.commands.new import register as register_new
from llmscale.commands.preflight import register as register_preflight
from llmscale.commands.simulate import register as register_simulate
from llmscale.commands.size import register as register_size
from llmscale.commands.stacks import load_stack_ref
from llmscale.commands.usage import (
    Abort,
    ClickException,
    NoArgsIsHelpError,
    click_error_line,
    err,
    fail,
    usage_error,
)
from llmscale.config.errors import ConfigError
from llmscale.config.loader import LoadedStack
from llmscale.config.models import Tier
from llmscale.paths import PACKAGE_ROOT

INTERNAL_ERROR = 3
DEBUG_VARIABLE = "LLMSCALE_DEBUG"


def _ends_on_purpose(error: Exception) -> bool:
    """Exits, aborts and usage errors (every exception class click or typer define), and a closed stdout pipe."""
    return isinstance(error, BrokenPipeError) or type(error).__module__.split(".")[0] in ("click", "typer")


_OWN_CODE = tuple(PACKAGE_ROOT / package for package in ("llmscale", "components"))


def _crash_site(error: BaseException) -> str:
    """The innermost frame of llmscale's own code the error passed (`llmscale/plan/report.py:42`), installed from a
    checkout or a wheel alike, for the bug report."""
    ours = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if any(Path(frame.filename).resolve().is_relative_to(root) for root in _OWN_CODE)
    ]
    if not ours:
        return "outside llmscale's code"
    frame = ours[-1]
    return f"{Path(frame.filename).resolve().relative_to(PACKAGE_ROOT)}:{frame.lineno}"


def internal_error_line(command: str, error: BaseException) -> str:
    """The one line a crash prints: what failed and where, and how to report it. Never the exception's message,
    which may hold a config value."""
    return (
        f"llmscale {command}: internal error ({type(error).__name__} at {_crash_site(error)}); this is a bug in "
        f"llmscale, not a problem with the stack: report it to the llmscale maintainers with this line and the "
        f"output of `llmscale --version` ({DEBUG_VARIABLE}=1 prints the traceback)"
    )


class _Commands(TyperGroup):
    """Typer's command group with one rule for every command: a crash exits 3 with one line on stderr, and click's
    usage errors become one line (`llmscale CMD: --option: what`), exit 2.

    Exit 1 means findings and CI acts on it; a crash must never read as one, nor leave a partial document on stdout.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; in standalone mode print click's errors as one line and exit with their code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except NoArgsIsHelpError as error:
            error.show()
            sys.exit(error.exit_code)
        except ClickException as error:
            typer.echo(click_error_line(error), err=True)
            sys.exit(error.exit_code)
        except Abort:
            typer.echo("llmscale: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: typer.Context) -> Any:
        """Run the command; config errors that escape it exit 2, anything unexpected exits 3."""
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise fail(error.lines()) from None
        except Exception as error:
            if _ends_on_purpose(error):
                raise
            if os.environ.get(DEBUG_VARIABLE):
                traceback.print_exception(error, file=sys.stderr)
            err(internal_error_line(ctx.invoked_subcommand or "llmscale", error))
            raise typer.Exit(INTERNAL_ERROR) from None


app = typer.Typer(
    name="llmscale",
    cls=_Commands,
    help="Infrastructure as code for serving LLMs: validate, plan and render stacks offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StackArg = Annotated[
    str,
    typer.Argument(
        metavar="STACK", help="A stack name (STACKS_DIR/Pulumi.STACK.yaml, default stacks/) or a stack file path."
    ),
]
StacksDirOption = Annotated[
    Path | None,
    typer.Option(
        "--stacks-dir",
        metavar="DIR",
        help="Where stack names resolve (default: stacks/ of the project around the working directory).",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"llmscale {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """llmscale: LLM inference deployments in three tiers, planned offline and kept honest by policy."""


@app.command()
def validate(stack: StackArg, stacks_dir: StacksDirOption = None) -> None:
    """Check a stack's config: exit 0 when valid, 2 with one line per problem."""
    loaded = load_stack_ref(stack, stacks_dir)
    config = loaded.config
    err(
        f"{loaded.source}: valid (tier {config.tier}, platform {config.platform}, "
        f"{len(config.models)} model profile{'s' if len(config.models) != 1 else ''})"
    )


def _plan_document(loaded: LoadedStack) -> dict:
    from llmscale.plan.report import plan_document
    from llmscale.plan.runner import run_program
    from llmscale.program import StackConfigError
    from llmscale.program import main as program

    try:
        result = run_program(loaded, program)
    except StackConfigError as error:
        # The program validates the config as `pulumi up` will; name the file this command was given.
        raise fail([problem.render(loaded.source) for problem in error.problems]) from None
    except pulumi.RunError as error:
        raise fail([f"{loaded.source}: {line}" for line in str(error).splitlines()]) from None
    return plan_document(result)


@app.command()
def plan(
    stack: StackArg,
    as_json: Annotated[bool, typer.Option("--json", help="Write the plan as JSON to stdout.")] = False,
    details: Annotated[bool, typer.Option("--details", help="Show every resource's inputs in the tree.")] = False,
    markdown: Annotated[
        Path | None,
        typer.Option(
            "--markdown", metavar="FILE", help="Also write a pull-request summary (Markdown, Mermaid diagram) to FILE."
        ),
    ] = None,
    stacks_dir: StacksDirOption = None,
) -> None:
    """Run the Pulumi program offline under mocks and show what `pulumi up` would create."""
    from llmscale.plan.report import render_text

    if markdown is not None and markdown.is_dir():
        raise usage_error("--markdown", "is a directory: name the file to write")
    document = _plan_document(load_stack_ref(stack, stacks_dir))
    # Everything is rendered before anything is written, so that a failure leaves no partial output behind.
    tree = render_text(document, details=details)
    text = json.dumps(document, indent=2, sort_keys=False) if as_json else None
    summary = None
    if markdown is not None:
        from llmscale.plan.markdown import plan_markdown  # with the diff machinery: only when asked for

        summary = plan_markdown(document)
    if markdown is not None and summary is not None:
        try:
            markdown.write_text(summary, encoding="utf-8")
        except OSError as error:
            raise usage_error("--markdown", f"cannot be written ({error.__class__.__name__})") from None
    err(tree)
    if text is not None:
        typer.echo(text)
    if markdown is not None:
        err(f"wrote the plan summary to {markdown}")
    mandatory = [v for v in document["violations"] if v["enforcement"] == "mandatory"]
    if mandatory or document["schemaErrors"] or document["runtimeErrors"]:
        raise typer.Exit(1)


@app.command()
def render(
    stack: StackArg,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files into.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
    stacks_dir: StacksDirOption = None,
) -> None:
    """Write what a stack deploys as files: the single host's bundle, or the Kubernetes manifests per cluster."""
    if out.exists() and not out.is_dir():
        raise usage_error("--out", "is a file, not a directory: name a directory to write into")
    loaded = load_stack_ref(stack, stacks_dir)
    config = loaded.config
    steps = ""
    if config.tier is Tier.SINGLE_GPU:
        from llmscale.host.bundle import SecretSource, render_bundle

        source = SecretSource.FILES if config.platform == "host" else SecretSource.SSM
        files = render_bundle(config, loaded.name, secret_source=source, region=loaded.region)
        hint = "start with bin/start.sh (see README.txt)"
    else:
        from llmscale.plan.render import render_kubernetes, steps_summary

        files = render_kubernetes(_plan_document(loaded))
        hint = "then, in this order (STEPS.txt; paths relative to the output directory):"
        steps = steps_summary(files)
    existing = [out / f.path for f in files if (out / f.path).exists()]
    if existing and not force:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise usage_error("--out", f"{existing[0]}{more} exist; pass --force to overwrite")
    try:
        for file in files:
            target = out / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.content, encoding="utf-8")
            target.chmod(file.mode)
    except OSError as error:
        raise usage_error("--out", f"cannot write there ({error.strerror or type(error).__name__})") from None
    err(f"wrote {len(files)} files to {out} for stack {loaded.name}; {hint}")
    if steps:
        err(steps)


register_preflight(app)
register_diff(app)
register_size(app)
register_loadtest(app)
register_new(app)
register_simulate(app)


def main() -> None:
    """Console-script entry point.

    The process runs one command and exits, so Python's cyclic garbage collector is off: its passes over the
    hundreds of thousands of objects the Pulumi SDKs create cost a fifth of a plan's CPU time and free almost
    nothing (reference counting frees the rest; a simulated week peaks 3 % higher).
    """
    gc.disable()
    sys.exit(app())


if __name__ == "__main__":
    main()
