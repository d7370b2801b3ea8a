"""Reading a stack's config from its stack file (offline) or from the Pulumi runtime (during `pulumi up`).

Both paths end in `parse_values`, so `llmscale validate`, `llmscale plan` and the Pulumi program accept and
reject exactly the same stacks with the same messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from llmscale.config.calibration_key import calibration_problems
from llmscale.config.checks import cross_checks, tier_platform_problems
from llmscale.config.credentials import find_credentials, where_it_belongs
from llmscale.config.deploy_checks import stack_name_problems
from llmscale.config.errors import NAMESPACE, REGION_KEY, ConfigError, Problem, dotted_key, shown_key, stack_problems
from llmscale.config.models import Platform, StackConfig, Tier, parse_stack_config, stack_fields
from llmscale.config.presets import apply_preset
from llmscale.config.stack_yaml import MAX_BYTES, TOO_LARGE, StackYamlError, beyond_bounds, load_stack_yaml
from llmscale.paths import program_project, project_root, stacks_project

SECRET_KEYS = ("apiKeys", "hfToken", "grafanaAdminPassword", "slackWebhookUrl", "pagerdutyRoutingKey")
SECRET_PLACEHOLDER = "[secret]"


@dataclass(frozen=True)
class LoadedStack:
    """A stack's parsed config, with what the Pulumi runtime needs to run the program on it."""

    name: str
    source: str
    config: StackConfig
    region: str | None
    pulumi_config: dict[str, str] = field(default_factory=dict)
    secret_keys: frozenset[str] = frozenset()
    undecryptable: frozenset[str] = frozenset()
    # The Pulumi project the stack belongs to: relative paths in its config (sizing.calibration) are read from it.
    project_dir: Path | None = None


def _structured_keys() -> set[str]:
    scalar = {"tier", "platform", "environment", REGION_KEY, *SECRET_KEYS}
    return {f.alias or n for n, f in stack_fields().items()} - scalar


def _decode(key: str, value: Any) -> tuple[Any, Problem | None]:
    """Pulumi hands structured config to programs as JSON text; accept both that and native YAML values.

    JSON text gets the same bounds as the stack file's YAML, so that what `pulumi up` reads cannot be deeper or
    larger than what `llmscale validate` accepted.
    """
    full_key = f"{NAMESPACE}:{key}"
    if key in _structured_keys() and isinstance(value, str):
        if not value.strip():
            return value, Problem(full_key, "has no value; give a mapping or list, or delete the line")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return value, Problem(full_key, "must be a mapping or list, not a plain string")
        reason = beyond_bounds(value)
        if reason is not None:
            return value, Problem(full_key, reason)
    return value, None


def _blank(value: Any) -> bool:
    """A key written without a value: YAML's null, or the empty string Pulumi hands programs for it."""
    return value is None or (isinstance(value, str) and not value.strip())


def _not_extra_args(loc: list[str | int]) -> bool:
    """`models[i].extraArgs` is checked by the schema, which knows flags from their values."""
    return len(loc) == 3 and loc[0] == "models" and loc[2] == "extraArgs"


def _credential_problems(key: str, value: Any) -> list[Problem]:
    """Plain config values that look like credentials, which must come from the secret settings instead."""
    problems = []
    for loc, credential, is_key in find_credentials(value, [key], skip=_not_extra_args):
        what = "has a key that looks like" if is_key else "looks like"
        problems.append(
            Problem(
                dotted_key(loc),
                f"{what} {credential.kind}; in plain config it would show in plan output and rendered files: "
                + where_it_belongs(credential),
            )
        )
    return problems


def _under(key: str, flagged: set[str]) -> bool:
    return any(key == f or key.startswith((f"{f}.", f"{f}[")) for f in flagged)


def parse_values(
    values: Mapping[str, Any],
    secret_keys: set[str] | frozenset[str],
    source: str,
    stack: str | None = None,
    project: Path | None = None,
) -> tuple[StackConfig, str | None]:
    """Validate a stack's config values (full `namespace:key` names) into a StackConfig and its AWS region.

    `stack` (the stack's name) is checked too when given: on AWS it becomes part of resource names. `project` is
    the directory relative paths are read from (`sizing.calibration`); default: the project around the working
    directory.

    Raises ConfigError listing every problem. Values are never echoed: a secret typed into the wrong key stays
    out of the messages.
    """
    problems: list[Problem] = []
    ours: dict[str, Any] = {}
    for full_key, raw in values.items():
        namespace, sep, key = full_key.partition(":")
        if not sep:
            shown = shown_key(full_key)
            problems.append(Problem(shown, f"config keys need a namespace; did you mean {NAMESPACE}:{shown}?"))
            continue
        if namespace != NAMESPACE:
            continue
        if key == "region":
            problems.append(Problem(full_key, f"unknown key; the AWS region is {REGION_KEY} (the AWS provider's key)"))
            continue
        if key in SECRET_KEYS and _blank(raw):
            problems.append(
                Problem(
                    full_key,
                    f"has no value; set it with `pulumi config set --secret {full_key} ...` or delete the line",
                )
            )
            continue
        value, problem = _decode(key, raw)
        if problem:
            problems.append(problem)
            continue
        if key in SECRET_KEYS and full_key not in secret_keys:
            problems.append(
                Problem(
                    full_key,
                    f"is stored in plain text; remove it and run `pulumi config set --secret {full_key} ...`",
                )
            )
            continue
        if key not in SECRET_KEYS:
            problems.extend(_credential_problems(key, value))
        ours[key] = value

    try:
        tier = Tier(ours.get("tier"))
    except ValueError:
        merged = ours
    else:
        merged = apply_preset(tier, ours)

    region_value = values.get(REGION_KEY)
    if region_value and ours.get("platform") != Platform.HOST:
        # The region belongs to the platforms that call AWS; an existing server's stack has no use for it.
        merged = {**merged, REGION_KEY: str(region_value)}

    mismatch = tier_platform_problems(ours.get("tier"), ours.get("platform"))
    problems.extend(mismatch)
    config: StackConfig | None = None
    try:
        config = parse_stack_config(merged)
        config._declared = frozenset(ours)
    except ValidationError as error:
        # A key already reported (a credential, a missing secret) gets one line, not a second from the schema;
        # with a platform that does not fit the tier, the tier's own sections are not blamed for it.
        reported = {problem.key for problem in problems}
        schema = stack_problems(error, name_other_platforms=not mismatch)
        problems.extend(p for p in schema if not _under(p.key, reported))

    region = getattr(config, "region", None)
    if config is not None and not problems:
        problems.extend(cross_checks(config))
        if not problems:
            problems.extend(calibration_problems(config, project or project_root()))
        if stack is not None:
            problems.extend(stack_name_problems(stack, config.platform))
    if problems or config is None:
        raise ConfigError(source, problems)
    return config, region


def resolve_stack(ref: str, root: Path | None = None) -> tuple[str, Path]:
    """A stack name (`single-gpu` → stacks/Pulumi.single-gpu.yaml) or a stack file path, as (name, path)."""
    candidate = Path(ref)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        path = candidate
    else:
        path = (root or project_root()) / "stacks" / f"Pulumi.{ref}.yaml"
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    name = stem.removeprefix("Pulumi.") if stem.startswith("Pulumi.") else stem
    return name, path


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _contains_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return "secure" in value or any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def read_stack_file(path: Path) -> tuple[dict[str, Any], set[str], set[str]]:
    """The config mapping of a stack file, the keys holding secrets, and those that cannot be decrypted here.

    Encrypted (`secure:`) values need the stack's secrets provider, which the offline tools do not have: they
    become a redacted placeholder so that validation and the plan still run.
    """
    source = _display(path)
    if not path.is_file():
        raise ConfigError(
            source,
            [Problem("file", "no such stack file; run `llmscale new NAME` or copy one of the examples in stacks/")],
        )
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)  # never more than the bound, whatever the file's size
        if len(data) > MAX_BYTES:
            raise ConfigError(source, [Problem("file", TOO_LARGE)])
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(source, [Problem("file", f"cannot be read ({error.__class__.__name__})")]) from None
    return read_stack_text(text, source)


def read_stack_text(text: str, source: str) -> tuple[dict[str, Any], set[str], set[str]]:
    """`read_stack_file` for text already in hand (a stack file about to be written, say).

    A key written without a value (`llmscale:hfToken:`) reads as the empty string, which is what the Pulumi CLI
    hands the program for it (pulumi/pulumi sdk/go/common/resource/config/value.go: a config value unmarshals
    "as a string" first, and go-yaml decodes null into a string as ""), so validate, plan and `pulumi up` see the
    same value.
    """
    try:
        document = load_stack_yaml(text)
    except StackYamlError as error:
        where = f"line {error.line}" if error.line else "file"
        message = f"{error.key}: {error.message}" if error.key else error.message
        raise ConfigError(source, [Problem(where, message)]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(source, [Problem("file", "must be a mapping with a `config:` section")])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(source, [Problem("config", "must be a mapping of `namespace:key: value`")])

    values: dict[str, Any] = {}
    secret: set[str] = set()
    undecryptable: set[str] = set()
    for key, value in config.items():
        key = str(key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            secret.add(key)
            undecryptable.add(key)
            values[key] = SECRET_PLACEHOLDER
        elif value is None:
            values[key] = ""
        elif _contains_secure(value):
            raise ConfigError(
                source,
                [
                    Problem(
                        key,
                        "secrets inside structured keys are not supported; llmscale reads secrets only from "
                        + ", ".join(f"llmscale:{name}" for name in SECRET_KEYS),
                    )
                ],
            )
        else:
            values[key] = value
    return values, secret, undecryptable


def _as_pulumi_string(value: Any) -> str:
    """How the Pulumi CLI hands a config value to the program: strings as-is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def load_stack(ref: str, root: Path | None = None) -> LoadedStack:
    """Resolve, read and validate a stack file; raises ConfigError with every problem found."""
    name, path = resolve_stack(ref, root)
    source = _display(path)
    values, secret_keys, undecryptable = read_stack_file(path)
    project = stacks_project(path.parent)
    config, region = parse_values(values, secret_keys, source, stack=name, project=project)
    return LoadedStack(
        name=name,
        source=source,
        config=config,
        region=region,
        pulumi_config={key: _as_pulumi_string(value) for key, value in values.items()},
        secret_keys=frozenset(secret_keys),
        undecryptable=frozenset(undecryptable),
        project_dir=project,
    )


def load_from_pulumi() -> tuple[StackConfig, str | None]:
    """The running stack's config as the Pulumi engine passed it to the program."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
    return parse_values(values, secret_keys, source, stack=pulumi.get_stack(), project=program_project())
