"""`llmscale new NAME`: write a customer's stack file, sized by the capacity planner and valid by construction.

Options that are given are checked first, each on its own, so a bad one is named in one line (exit 2) before
anything is sized. Missing answers are asked for on a terminal (only platforms that fit the tier are offered,
and each answer is checked as it is typed); without a terminal each missing option is one line and exit 2.
An answer that turns out wrong late (a load the tier cannot carry, a name already taken) is asked again on a
terminal, keeping every other answer. The stack file lands in the current project's `stacks/` (or
`--stacks-dir`), never in llmscale's own directory; a directory without a Pulumi project also gets the
project files `pulumi up` needs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from llmscale.commands.usage import err_line, fail, usage_error
from llmscale.config.checks import PLATFORMS_BY_TIER
from llmscale.config.models import Platform, Quantization, Tier
from llmscale.paths import PROJECT_FILE, project_root, stacks_dir, stacks_project


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _choose(label: str, choices: list[str]) -> str:
    """Ask until the answer is one of `choices` (one choice is taken without asking)."""
    if len(choices) == 1:
        err_line(f"{label}: {choices[0]} (the only one that fits)")
        return choices[0]
    while True:
        answer = typer.prompt(f"{label} ({', '.join(choices)})", err=True).strip()
        if answer in choices:
            return answer
        err_line(f"choose one of {', '.join(choices)}")


def _ask(label: str, key: str, parse: Callable[[str], Any] = str, partial: Any = None) -> Any:
    """Ask until the answer parses and passes the same check the option gets; each problem is one line."""
    from llmscale.config.scaffold import OPTIONS, answer_problem

    while True:
        raw = typer.prompt(label, err=True).strip()
        try:
            value = parse(raw)
        except ValueError:
            err_line(f"{OPTIONS.get(key, key)}: not a valid answer; try again")
            continue
        problem = answer_problem(key, value, partial)
        if problem is None:
            return value
        err_line(f"{OPTIONS.get(key, key)}: {problem}")


def _cidrs(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


PROMPTS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "name": ("Stack name (for example acme-prod)", str),
    "users": ("Peak concurrent users", int),
    "model": ("Model (Hugging Face id such as meta-llama/Llama-3.1-8B-Instruct)", str),
    "region": ("AWS region", str),
    "allowed_cidrs": ("Networks allowed to reach the endpoint (CIDR, comma-separated)", _cidrs),
    "standby_region": ("Standby AWS region", str),
    "hosted_zone_id": ("Route 53 hosted zone id of the failover name", str),
    "domain": ("Failover DNS name clients use (for example llm.customer.example)", str),
    "primary_endpoint": ("Public address of this cluster's gateway (host name or IPv4)", str),
    "standby_endpoint": ("Public address of the standby (host name or IPv4)", str),
    "p99_seconds": ("p99 latency SLO in seconds", float),
    "gpu": ("GPU or EC2 instance type (for example L40S or g6e.xlarge)", str),
}


def _stack_target(stacks: Path, name: str) -> Path:
    return stacks / f"Pulumi.{name}.yaml"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def register(app: typer.Typer) -> None:
    """Add the `new` command to the CLI."""

    @app.command()
    def new(
        name: Annotated[
            str | None, typer.Argument(help="Stack name: writes stacks/Pulumi.NAME.yaml (asked for on a terminal).")
        ] = None,
        tier: Annotated[Tier | None, typer.Option(help="single-gpu, multi-gpu or enterprise.")] = None,
        platform: Annotated[
            Platform | None, typer.Option(help="aws, kubernetes or host (host: single-gpu only; kubernetes: not).")
        ] = None,
        users: Annotated[int | None, typer.Option(help="Peak concurrent users.")] = None,
        model: Annotated[
            str | None, typer.Option(help="Hugging Face model id, e.g. meta-llama/Llama-3.1-8B-Instruct.")
        ] = None,
        region: Annotated[str | None, typer.Option(help="AWS region (platform aws).")] = None,
        gpu: Annotated[
            str | None,
            typer.Option(help="A GPU (L40S, A10G, H100, ...) or an EC2 instance type (default: the tier's)."),
        ] = None,
        gpus_per_node: Annotated[
            int | None, typer.Option("--gpus-per-node", help="GPUs per node of your own node type (kubernetes).")
        ] = None,
        quantization: Annotated[Quantization | None, typer.Option(help="Weight quantization of the model.")] = None,
        p99: Annotated[float | None, typer.Option(help="p99 latency SLO in seconds (default: the tier's).")] = None,
        allowed_cidr: Annotated[
            list[str] | None,
            typer.Option(
                "--allowed-cidr",
                help="Network allowed to reach the single host, or the EKS cluster's API on aws (repeat).",
            ),
        ] = None,
        timezone: Annotated[str, typer.Option(help="IANA time zone of the customer's business hours.")] = "UTC",
        standby_region: Annotated[
            str | None, typer.Option("--standby-region", help="Enterprise on aws: the warm standby's region.")
        ] = None,
        hosted_zone_id: Annotated[
            str | None, typer.Option("--hosted-zone-id", help="Enterprise: Route 53 hosted zone of --domain.")
        ] = None,
        domain: Annotated[
            str | None, typer.Option("--domain", help="Enterprise: the failover DNS name clients use.")
        ] = None,
        primary_endpoint: Annotated[
            str | None,
            typer.Option("--primary-endpoint", help="Enterprise on kubernetes: this cluster's public gateway address."),
        ] = None,
        standby_endpoint: Annotated[
            str | None,
            typer.Option("--standby-endpoint", help="Enterprise on kubernetes: the standby's public address."),
        ] = None,
        kube_context: Annotated[
            str | None, typer.Option("--kube-context", help="Platform kubernetes: the cluster's kubeconfig context.")
        ] = None,
        price_per_gpu_hour: Annotated[
            float | None,
            typer.Option("--price-per-gpu-hour", help="Your price of a GPU-hour (default: the on-demand table)."),
        ] = None,
        stacks: Annotated[
            Path | None,
            typer.Option("--stacks-dir", metavar="DIR", help="Write into DIR (default: the project's stacks/)."),
        ] = None,
        calibration: Annotated[
            Path | None,
            typer.Option(
                "--calibration",
                metavar="FILE|DIR",
                help="`vllm bench serve` results (llmscale loadtest) to size from instead of the built-in figures.",
            ),
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing stack file.")] = False,
    ) -> None:
        """Write stacks/Pulumi.NAME.yaml for a customer, sized for its peak load; never overwrites without --force."""
        from llmscale.config.scaffold import (
            OPTIONS,
            RequestError,
            StackRequest,
            TierMisfitError,
            answer_problem,
            render_stack,
            required_answers,
        )
        from llmscale.config.scaffold import does_not_apply as applies
        from llmscale.sizing.calibration_file import CalibrationError, load_calibration

        try:
            measured = load_calibration(calibration) if calibration is not None else ()
        except CalibrationError as error:
            raise usage_error("--calibration", str(error)) from None

        target_dir = stacks_dir(stacks)
        if target_dir.exists() and not target_dir.is_dir():
            raise usage_error("--stacks-dir" if stacks else "stacks", "is a file, not a directory")

        answers: dict[str, Any] = {
            "name": name,
            "tier": tier,
            "platform": platform,
            "users": users,
            "model": model,
            "region": region,
            "gpu": gpu,
            "gpus_per_node": gpus_per_node,
            "quantization": quantization,
            "p99_seconds": p99,
            "allowed_cidrs": tuple(allowed_cidr) if allowed_cidr else None,
            "timezone": timezone,
            "standby_region": standby_region,
            "hosted_zone_id": hosted_zone_id,
            "domain": domain,
            "primary_endpoint": primary_endpoint,
            "standby_endpoint": standby_endpoint,
            "kube_context": kube_context,
            "price_per_gpu_hour": price_per_gpu_hour,
        }
        # Each given option on its own first: one line per bad option, before anything is asked or sized.
        bad = [
            f"{OPTIONS[key]}: {problem}"
            for key, value in answers.items()
            if value is not None and key in OPTIONS and (problem := answer_problem(key, value))
        ]
        if tier is not None and platform is not None and platform not in PLATFORMS_BY_TIER[tier]:
            allowed = ", ".join(PLATFORMS_BY_TIER[tier])
            bad.append(f"--platform: {platform} does not fit tier {tier} (use {allowed})")
        if bad:
            raise fail(bad)

        interactive = _interactive()

        def missing() -> list[str]:
            keys = [key for key in ("name", "tier", "platform", "users", "model") if answers[key] is None]
            if answers["tier"] is not None and answers["platform"] is not None:
                keys += [key for key in required_answers(answers["tier"], answers["platform"]) if answers[key] is None]
            return keys

        if missing() and not interactive:
            raise fail(f"{OPTIONS.get(key, '--' + key)}: required (no terminal to ask on)" for key in missing())

        def ask_missing() -> None:
            partial = _partial(answers)
            for key in ("name", "tier", "platform", "users", "model"):
                if answers[key] is not None:
                    continue
                if key == "tier":
                    answers["tier"] = Tier(_choose("Tier", [t.value for t in Tier]))
                elif key == "platform":
                    fits = [p.value for p in PLATFORMS_BY_TIER[answers["tier"]]]
                    answers["platform"] = Platform(_choose("Platform", fits))
                else:
                    label, parse = PROMPTS[key]
                    answers[key] = _ask(label, key, parse, partial)
            for key in required_answers(answers["tier"], answers["platform"]):
                if answers[key] is None:
                    label, parse = PROMPTS[key]
                    answers[key] = _ask(label, key, parse, _partial(answers))

        def re_ask(option: str) -> bool:
            """Ask again for the answer an error named; False when it is not one that can be asked."""
            key = next((k for k, v in OPTIONS.items() if v == option), None)
            if key is None or key not in PROMPTS:
                return False
            label, parse = PROMPTS[key]
            answers[key] = _ask(label, key, parse, _partial(answers))
            return True

        while True:
            if interactive:
                ask_missing()
            target = _stack_target(target_dir, answers["name"])
            if target.exists() and not force:
                if not interactive:
                    raise usage_error("NAME", f"{_shown(target)} exists; pass --force to overwrite")
                err_line(f"NAME: {_shown(target)} exists; choose another name (or run again with --force)")
                answers["name"] = None
                continue
            project = stacks_project(target_dir)
            request = StackRequest(
                **{k: v for k, v in answers.items() if v is not None},
                calibration=measured,
                calibration_file=str(calibration) if calibration is not None else None,
                calibration_key=_from_project(calibration, project) if calibration is not None else None,
                project_dir=project,
            )
            try:
                text, plan = render_stack(request)
            except TierMisfitError as misfit:
                err_line(misfit.problems[0].line())
                if not interactive:
                    raise typer.Exit(2) from None
                answers["tier"] = Tier(_choose("Tier that fits", [t.value for t in misfit.fits]))
                if answers["platform"] not in PLATFORMS_BY_TIER[answers["tier"]]:
                    answers["platform"] = Platform(
                        _choose("Platform", [p.value for p in PLATFORMS_BY_TIER[answers["tier"]]])
                    )
                for key in OPTIONS:
                    if answers.get(key) is not None and applies(key, answers["tier"], answers["platform"]):
                        answers[key] = None  # an answer the new tier and platform have no use for
                continue
            except RequestError as error:
                for problem in error.problems:
                    err_line(problem.line())
                if interactive and all(re_ask(problem.option) for problem in error.problems):
                    continue
                raise typer.Exit(2) from None
            break

        written = _write(target, text, target_dir, with_project=stacks is None)
        result = plan.sizing
        if request.tier is Tier.SINGLE_GPU:
            sized = "1 GPU needed at peak, on one host without headroom"
        else:
            sized = (
                f"{result.gpus_needed} GPUs needed at peak, {result.gpus_to_provision} with headroom; "
                f"maxReplicas {plan.max_replicas}"
            )
        err_line(f"wrote {_shown(target)} (tier {request.tier}, platform {request.platform}): {sized}")
        err_line(plan.cost.summary())
        if written:
            err_line(f"wrote the Pulumi project around it: {', '.join(written)}")
        err_line(f"next: set the secrets the file lists, then `llmscale plan {request.name}`")


def _from_project(path: Path, project: Path) -> str:
    """`path` (as given, relative to the working directory) as the stack's `sizing.calibration` names it: relative
    to the project directory when it lies inside it, so that the project moves (a CI checkout) with its results;
    absolute otherwise."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(project.resolve()).as_posix()
    except ValueError:
        return str(resolved)


def _partial(answers: dict[str, Any]) -> Any:
    """The answers so far, as a request-like object for checks that compare answers (standby vs primary region)."""
    return type("Answers", (), dict(answers))()


def _write(target: Path, text: str, target_dir: Path, *, with_project: bool) -> list[str]:
    """Write the stack file, and (`with_project`: the default stacks/ of the working directory) the Pulumi
    project files when the directory is not in a project yet. An explicit --stacks-dir gets the stack file only.

    Existing files are never touched; returns the project files written.
    """
    from llmscale.config.scaffold import project_files

    written: list[str] = []
    project_dir = target_dir.resolve().parent
    try:
        if with_project and not (project_root(project_dir) / PROJECT_FILE).is_file():
            for path, content in project_files(project_dir, target_dir).items():
                if path.exists():
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
                written.append(_shown(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise usage_error("--stacks-dir", f"cannot write there ({error.strerror or type(error).__name__})") from None
    return written


__all__ = ["register"]
