"""`llmscale new NAME`: write a customer's stack file, sized by the capacity planner and valid by construction."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from llmscale.config.errors import ConfigError
from llmscale.config.models import Platform, Quantization, Tier
from llmscale.paths import project_root
from llmscale.sizing import SizingError


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _choose(label: str, choices: list[str]) -> str:
    while True:
        answer = typer.prompt(f"{label} ({', '.join(choices)})", err=True).strip()
        if answer in choices:
            return answer
        typer.echo(f"choose one of {', '.join(choices)}", err=True)


def register(app: typer.Typer) -> None:
    """Add the `new` command to the CLI."""

    @app.command()
    def new(
        name: Annotated[str, typer.Argument(help="Stack name: writes stacks/Pulumi.NAME.yaml.")],
        tier: Annotated[Tier | None, typer.Option(help="single-gpu, multi-gpu or enterprise.")] = None,
        platform: Annotated[Platform | None, typer.Option(help="aws, kubernetes or host.")] = None,
        users: Annotated[int | None, typer.Option(min=1, help="Peak concurrent users.")] = None,
        model: Annotated[
            str | None, typer.Option(help="Hugging Face model id, e.g. meta-llama/Llama-3.1-8B-Instruct.")
        ] = None,
        region: Annotated[str | None, typer.Option(help="AWS region (platform aws).")] = None,
        gpu: Annotated[str | None, typer.Option(help="GPU instance type (default: the tier's).")] = None,
        quantization: Annotated[Quantization | None, typer.Option(help="Weight quantization of the model.")] = None,
        p99: Annotated[
            float | None, typer.Option(min=0.1, help="p99 latency SLO in seconds (default: the tier's).")
        ] = None,
        allowed_cidr: Annotated[
            list[str] | None,
            typer.Option(
                "--allowed-cidr",
                help="Network allowed to reach the single host, or the EKS cluster's API on aws (repeat).",
            ),
        ] = None,
        timezone: Annotated[str, typer.Option(help="IANA time zone of the customer's business hours.")] = "UTC",
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing stack file.")] = False,
    ) -> None:
        """Write stacks/Pulumi.NAME.yaml for a customer, sized for its peak load; never overwrites without --force."""
        from llmscale.scaffold import StackRequest, render_stack

        def err(line: str) -> None:
            typer.echo(line, err=True)

        target = project_root() / "stacks" / f"Pulumi.{name}.yaml"
        if target.exists() and not force:
            err(f"{target}: exists; pass --force to overwrite")
            raise typer.Exit(2)

        wanted: dict[str, object] = {"tier": tier, "platform": platform, "users": users, "model": model}
        if (platform or "") == Platform.AWS:
            wanted["region"] = region
        if platform is Platform.AWS:
            wanted["allowed_cidr"] = allowed_cidr or None
        missing = [key for key, value in wanted.items() if value is None]
        if missing and not _interactive():
            for key in missing:
                err(f"--{key.replace('_', '-')}: required (no terminal to ask on)")
            raise typer.Exit(2)
        tier = tier or Tier(_choose("Tier", [t.value for t in Tier]))
        platform = platform or Platform(_choose("Platform", [p.value for p in Platform]))
        users = users or typer.prompt("Peak concurrent users", type=int, err=True)
        model = model or typer.prompt("Model (Hugging Face id)", err=True)
        if platform is Platform.AWS and not region:
            region = typer.prompt("AWS region", err=True)
        if platform is Platform.AWS and not allowed_cidr:
            reach = "the endpoint" if tier is Tier.SINGLE_GPU else "the Kubernetes API"
            allowed_cidr = [typer.prompt(f"Network allowed to reach {reach} (CIDR)", err=True)]

        request = StackRequest(
            name=name,
            tier=tier,
            platform=platform,
            users=users,
            model=model,
            region=region,
            gpu=gpu,
            quantization=quantization,
            p99_seconds=p99,
            allowed_cidrs=tuple(allowed_cidr or ()),
            timezone=timezone,
        )
        try:
            text, result = render_stack(request)
        except ConfigError as error:
            for line in error.lines():
                err(line)
            raise typer.Exit(2) from None
        except SizingError as error:
            err(f"cannot size {name}: {error}")
            raise typer.Exit(2) from None
        target.parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text, encoding="utf-8")
        err(
            f"wrote {target}: {result.gpus_needed} GPU(s) needed at peak, {result.gpus_to_provision} with headroom; "
            "set the secrets it lists, then `llmscale plan " + name + "`"
        )
