"""The `llmscale` command: validate, plan and render stacks without a cloud account.

Exit codes: 0 ok, 1 findings (mandatory policy violations or schema errors), 2 usage or config error. Human
output goes to stderr; `--json` documents go to stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import pulumi
import typer

from llmscale import __version__
from llmscale.commands.diff import register as register_diff
from llmscale.commands.new import register as register_new
from llmscale.commands.preflight import register as register_preflight
from llmscale.commands.simulate import register as register_simulate
from llmscale.commands.size import register as register_size
from llmscale.config.errors import ConfigError
from llmscale.config.loader import LoadedStack, load_stack
from llmscale.config.models import Tier

app = typer.Typer(
    name="llmscale",
    help="Infrastructure as code for serving LLMs: validate, plan and render stacks offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StackArg = Annotated[
    str, typer.Argument(metavar="STACK", help="A stack name (stacks/Pulumi.STACK.yaml) or a stack file path.")
]


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _fail(lines: list[str], code: int = 2) -> typer.Exit:
    for line in lines:
        _err(line)
    return typer.Exit(code)


def _load(stack: str) -> LoadedStack:
    try:
        return load_stack(stack)
    except ConfigError as error:
        raise _fail(error.lines()) from None


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
def validate(stack: StackArg) -> None:
    """Check a stack's config: exit 0 when valid, 2 with one line per problem."""
    loaded = _load(stack)
    config = loaded.config
    _err(
        f"{loaded.source}: valid (tier {config.tier}, platform {config.platform}, "
        f"{len(config.models)} model profile{'s' if len(config.models) != 1 else ''})"
    )


def _plan_document(loaded: LoadedStack) -> dict:
    from llmscale.plan.report import plan_document
    from llmscale.plan.runner import run_program
    from llmscale.program import main as program

    try:
        result = run_program(loaded, program)
    except pulumi.RunError as error:
        raise _fail([f"{loaded.source}: {line}" for line in str(error).splitlines()]) from None
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
) -> None:
    """Run the Pulumi program offline under mocks and show what `pulumi up` would create."""
    from llmscale.plan.report import render_text

    document = _plan_document(_load(stack))
    _err(render_text(document, details=details))
    if as_json:
        typer.echo(json.dumps(document, indent=2, sort_keys=False))
    if markdown is not None:
        from llmscale.plan.markdown import plan_markdown

        try:
            markdown.write_text(plan_markdown(document), encoding="utf-8")
        except OSError as error:
            raise _fail([f"{markdown}: cannot be written ({error.__class__.__name__})"]) from None
        _err(f"wrote the plan summary to {markdown}")
    mandatory = [v for v in document["violations"] if v["enforcement"] == "mandatory"]
    if mandatory or document["schemaErrors"]:
        raise typer.Exit(1)


@app.command()
def render(
    stack: StackArg,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files into.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
) -> None:
    """Write what a stack deploys as files: the single host's bundle, or the Kubernetes manifests."""
    loaded = _load(stack)
    config = loaded.config
    if config.tier is Tier.SINGLE_GPU:
        from llmscale.host_bundle import SecretSource, render_bundle

        source = SecretSource.FILES if config.platform == "host" else SecretSource.SSM
        files = render_bundle(config, loaded.name, secret_source=source, region=loaded.region)
        hint = "start with bin/start.sh (see README.txt)"
    else:
        from llmscale.k8s.render import render_kubernetes

        files = render_kubernetes(_plan_document(loaded))
        hint = "install the add-ons with addons.sh, create the secrets in SECRETS.txt, then kubectl apply -f"
    existing = [out / f.path for f in files if (out / f.path).exists()]
    if existing and not force:
        raise _fail([f"{path}: exists; pass --force to overwrite" for path in existing])
    for file in files:
        target = out / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.content, encoding="utf-8")
        target.chmod(file.mode)
    _err(f"wrote {len(files)} files to {out} for stack {loaded.name}; {hint}")


register_preflight(app)
register_diff(app)
register_size(app)
register_new(app)
register_simulate(app)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":
    main()
