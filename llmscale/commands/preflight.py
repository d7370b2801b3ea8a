"""`llmscale preflight STACK`: ask the stack's AWS account whether `pulumi up` can succeed, before running it.

Read-only calls with the caller's usual AWS credentials (environment, profile, SSO), in the stack's region and,
for an enterprise stack with a standby region, in that region too; the failover hosted zone is checked once.
A table of pass, fail and unknown answers goes to stderr, `--json` to stdout. Exit 0 when nothing failed
(unknowns are shown loudly but do not fail: the account could not answer them), 1 when a check failed, 2 for
config errors, a stack that is not on platform aws, and missing or rejected credentials.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmscale.commands.stacks import load_stack_ref
from llmscale.commands.usage import err, fail, usage_error
from llmscale.config.models import Platform, failover_of

if TYPE_CHECKING:
    from llmscale.aws.preflight import AwsClients, CheckResult

STATUS_LABELS = {"pass": ("PASS", "green"), "fail": ("FAIL", "red"), "unknown": ("UNKNOWN", "yellow")}


def build_clients(region: str, endpoint_url: str | None) -> AwsClients:
    """boto3 clients for the stack's region, all pointed at `endpoint_url` when one is given (tests, LocalStack).

    Retries are bounded so a throttled or failing endpoint answers within seconds rather than minutes.
    """
    import boto3
    from botocore.config import Config

    from llmscale.aws.preflight import AwsClients

    session = boto3.session.Session(region_name=region)
    settings = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=10,
        read_timeout=30,
        user_agent_extra="llmscale-preflight",
    )

    def client(service: str) -> object:
        return session.client(service, endpoint_url=endpoint_url, config=settings)

    return AwsClients(
        ec2=client("ec2"), service_quotas=client("service-quotas"), route53=client("route53"), eks=client("eks")
    )


def render_table(results: Sequence[CheckResult]) -> list[str]:
    """One line per check, status first so a failure or an unknown stands out at the left edge."""
    width = max(len(result.name) for result in results)
    region_width = max((len(result.region or "") for result in results), default=0)
    lines = []
    for result in results:
        label, colour = STATUS_LABELS[str(result.status)]
        status = typer.style(f"{label:<7}", fg=colour, bold=result.status != "pass")
        where = f"{result.region or '':<{region_width}}  " if region_width else ""
        lines.append(f"  {status}  {result.name:<{width}}  {where}{result.detail}")
    return lines


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    """How many checks passed, failed and were unknown."""
    counts = Counter(str(result.status) for result in results)
    return {status: counts.get(status, 0) for status in ("pass", "fail", "unknown")}


def preflight(
    stack: Annotated[
        str, typer.Argument(metavar="STACK", help="A stack name (stacks/Pulumi.STACK.yaml) or a stack file path.")
    ],
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", metavar="URL", help="Send every AWS call to this URL (moto, LocalStack)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write the results as JSON to stdout.")] = False,
    stacks_dir: Annotated[
        Path | None,
        typer.Option("--stacks-dir", metavar="DIR", help="Where stack names resolve (default: the project's stacks/)."),
    ] = None,
) -> None:
    """Check the AWS account before `pulumi up`: regions, GPU offerings, vCPU quota, EKS version, hosted zones.

    Exit 0 when no check failed, 1 when one did, 2 for config errors, non-aws stacks and credential problems.
    """
    if endpoint_url is not None and not endpoint_url.startswith(("http://", "https://")):
        raise usage_error("--endpoint-url", "is not a URL such as http://127.0.0.1:5000")
    loaded = load_stack_ref(stack, stacks_dir)
    config = loaded.config
    if config.platform is not Platform.AWS:
        raise fail([f"{loaded.source}: preflight checks AWS accounts; platform {config.platform} has nothing to check"])
    region = loaded.region
    assert region is not None  # the loader requires aws:region on platform aws
    try:
        from llmscale.aws.preflight import PreflightError, failed, run_stack_checks
    except ImportError:
        raise fail(["preflight needs boto3: pip install 'boto3>=1.34,<2'"]) from None
    made: dict[str, AwsClients] = {}

    def clients_for(name: str) -> AwsClients:
        if name not in made:
            made[name] = build_clients(name, endpoint_url)
        return made[name]

    try:
        results = run_stack_checks(config, region, clients_for)
    except ValueError:
        raise usage_error("--endpoint-url", "is not a valid URL such as http://127.0.0.1:5000") from None
    except PreflightError as error:
        raise fail([f"{loaded.source}: preflight: {error}"]) from None

    counts = summary(results)
    failover = failover_of(config)
    standby = failover.standby_region if failover else None
    where = f"regions {region} and {standby} (standby)" if standby else f"region {region}"
    err(f"preflight of stack {loaded.name} ({config.tier}, platform aws, {where}):")
    for line in render_table(results):
        err(line)
    err(f"{counts['pass']} passed, {counts['fail']} failed, {counts['unknown']} unknown")
    if counts["unknown"]:
        noun = "check" if counts["unknown"] == 1 else "checks"
        err(
            typer.style(
                f"UNKNOWN: {counts['unknown']} {noun} could not be answered by the account; check by hand as the "
                "detail says before `pulumi up`",
                fg="yellow",
                bold=True,
            )
        )
    if as_json:
        document = {
            "stack": loaded.name,
            "tier": str(config.tier),
            "region": region,
            "standbyRegion": standby,
            "ok": not failed(results),
            "summary": counts,
            "checks": [result.as_dict() for result in results],
        }
        typer.echo(json.dumps(document, indent=2))
    if failed(results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `preflight STACK [--endpoint-url URL] [--json]` to a Typer app."""
    app.command("preflight")(preflight)
