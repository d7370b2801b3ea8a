"""`llmscale loadtest STACK --out DIR`: render the benchmark that measures a deployed stack, for calibration.

Multi-gpu and enterprise stacks get `DIR/loadtest-<profile>.yaml` Kubernetes Jobs (validated against the
built-in schemas before they are written); a single-gpu stack gets `DIR/loadtest.sh` for the host. Both run
`vllm bench serve` through the stack's gateway with a key from the stack's own secrets (`llmscale.sizing.loadtest`).
Nothing is overwritten without `--force`. Exit 0 written, 2 on bad input (one line naming the option).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from llmscale.commands.usage import shown, usage_error
from llmscale.config.errors import ConfigError
from llmscale.config.loader import load_stack
from llmscale.config.models import failover_of
from llmscale.host.bundle import SECRETS_DIR
from llmscale.k8s.schema import validate_object
from llmscale.serving.api_keys import CLIENT
from llmscale.sizing.loadtest import (
    RESULT_MARKER,
    LoadTestError,
    host_script,
    is_host_tier,
    job_manifest,
    sweeps,
)

PREFIX = "llmscale loadtest"
HOST_URL = "https://127.0.0.1"


def loadtest_command(
    stack: Annotated[str, typer.Argument(help="A stack name (multi-gpu) or a stack file path.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the Jobs or the host script to.")],
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="The gateway's URL as the benchmark reaches it (default https://<gateway.hostname>; the host "
            "script talks to its own Caddy).",
        ),
    ] = None,
    client: Annotated[
        str, typer.Option("--client", help="The API-key client whose key the benchmark uses (the key's name).")
    ] = "default",
    range_ratio: Annotated[
        float, typer.Option("--range-ratio", help="Spread of prompt and answer lengths, 0 (fixed) to <1.")
    ] = 0.0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files already in --out.")] = False,
) -> None:
    """Render a `vllm bench serve` concurrency sweep per model profile, whose results re-size the stack."""
    if not CLIENT.match(client):
        raise usage_error("--client", "must be an API-key client name (letters, digits, . _ -)", PREFIX)
    if not 0 <= range_ratio < 1:
        raise usage_error("--range-ratio", "must be from 0 to below 1", PREFIX)
    if out.exists() and not out.is_dir():
        raise usage_error("--out", f"{shown(out)} is a file: name a directory", PREFIX)
    try:
        loaded = load_stack(stack)
    except ConfigError as error:
        for line in error.lines():
            typer.echo(line, err=True)
        raise typer.Exit(2) from None
    config = loaded.config
    host = is_host_tier(config)
    url = base_url or (HOST_URL if host else None)
    if url is None:
        # Clients of an enterprise stack come through the failover name, whichever region answers it.
        failover = failover_of(config)
        name = failover.record_name if failover is not None else config.gateway.hostname
        if name is None:
            raise usage_error("--base-url", f"{loaded.source} sets no gateway.hostname: give the gateway's URL", PREFIX)
        url = f"https://{name}"
    if not url.startswith(("http://", "https://")):
        raise usage_error("--base-url", "must be an http:// or https:// URL", PREFIX)
    try:
        planned = sweeps(config, url, client, range_ratio)
    except LoadTestError as error:
        raise usage_error("STACK", str(error), PREFIX) from None
    files: dict[str, str] = {}
    if host:
        files["loadtest.sh"] = host_script(loaded.name, planned, client, SECRETS_DIR)
    else:
        for sweep in planned:
            job = job_manifest(config, sweep, client)
            problems = validate_object(job)
            if problems:  # a bug, not bad input: the Job llmscale builds must be valid
                raise RuntimeError(f"loadtest Job for {sweep.profile} is invalid: {problems[0]}")
            files[f"loadtest-{sweep.profile}.yaml"] = yaml.safe_dump(job, sort_keys=False)
    existing = [name for name in files if (out / name).exists()]
    if existing and not force:
        raise usage_error("--out", f"{shown(out / existing[0])} exists; pass --force to overwrite", PREFIX)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        if name.endswith(".sh"):
            path.chmod(0o755)
        typer.echo(f"wrote {path}", err=True)
    for sweep in planned:
        levels = ", ".join(str(c) for c in sweep.concurrencies)
        typer.echo(f"  {sweep.profile}: concurrency {levels} through {sweep.base_url}", err=True)
        if not host:
            typer.echo(
                f"    hold it at {sweep.metadata['replicas']} replica(s) while it runs: kubectl annotate scaledobject "
                f"{sweep.profile} -n {config.kubernetes.namespace} "
                f"autoscaling.keda.sh/paused-replicas={sweep.metadata['replicas']} --overwrite",
                err=True,
            )
    if host:
        typer.echo(
            "then: run loadtest.sh on the host, copy its results/ directory back, and "
            "llmscale size --calibration results (or llmscale new --calibration results)",
            err=True,
        )
    else:
        typer.echo(
            f"then: kubectl logs job/loadtest-<profile> -n {config.kubernetes.namespace} | "
            f"sed -n 's/^{RESULT_MARKER} /- /p' > results.yaml; llmscale size --calibration results.yaml",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add `loadtest` to a Typer app."""
    app.command("loadtest")(loadtest_command)
