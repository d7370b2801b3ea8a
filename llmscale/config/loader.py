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

import yaml
from pydantic import ValidationError

from llmscale.config.checks import cross_checks
from llmscale.config.deploy_checks import stack_name_problems
from llmscale.config.errors import NAMESPACE, ConfigError, Problem, problems_from_validation
from llmscale.config.models import StackConfig, Tier
from llmscale.config.presets import apply_preset
from llmscale.paths import project_root

SECRET_KEYS = ("apiKeys", "hfToken", "grafanaAdminPassword", "slackWebhookUrl", "pagerdutyRoutingKey")
SECRET_PLACEHOLDER = "[secret]"
REGION_KEY = "aws:region"


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


def _structured_keys() -> set[str]:
    scalar = {"tier", "platform", "environment", *SECRET_KEYS}
    return {f.alias or n for n, f in StackConfig.model_fields.items()} - scalar


def _decode(key: str, value: Any) -> tuple[Any, Problem | None]:
    """Pulumi hands structured config to programs as JSON text; accept both that and native YAML values."""
    if key in _structured_keys() and isinstance(value, str):
        try:
            return json.loads(value), None
        except json.JSONDecodeError:
            return value, Problem(f"{NAMESPACE}:{key}", "must be a mapping or list, not a plain string")
    return value, None


def parse_values(
    values: Mapping[str, Any],
    secret_keys: set[str] | frozenset[str],
    source: str,
    stack: str | None = None,
) -> tuple[StackConfig, str | None]:
    """Validate a stack's config values (full `namespace:key` names) into a StackConfig and its AWS region.

    `stack` (the stack's name) is checked too when given: on AWS it becomes part of resource names.

    Raises ConfigError listing every problem. Values are never echoed: a secret typed into the wrong key stays
    out of the messages.
    """
    problems: list[Problem] = []
    ours: dict[str, Any] = {}
    for full_key, raw in values.items():
        namespace, sep, key = full_key.partition(":")
        if not sep:
            problems.append(Problem(full_key, f"config keys need a namespace; did you mean {NAMESPACE}:{full_key}?"))
            continue
        if namespace != NAMESPACE:
            continue
        value, problem = _decode(key, raw)
        if problem:
            problems.append(problem)
            continue
        if key in SECRET_KEYS and full_key not in secret_keys and value is not None:
            problems.append(
                Problem(
                    full_key,
                    f"is stored in plain text; remove it and run `pulumi config set --secret {full_key} ...`",
                )
            )
            continue
        ours[key] = value

    try:
        tier = Tier(ours.get("tier"))
    except ValueError:
        merged = ours
    else:
        merged = apply_preset(tier, ours)

    config: StackConfig | None = None
    try:
        config = StackConfig.model_validate(merged)
        config._declared = frozenset(ours)
    except ValidationError as error:
        problems.extend(problems_from_validation(error, StackConfig))

    region_value = values.get(REGION_KEY)
    region = str(region_value) if region_value else None
    if config is not None and not problems:
        problems.extend(cross_checks(config, region))
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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(source, [Problem("file", f"cannot be read ({error.__class__.__name__})")]) from None
    return read_stack_text(text, source)


def read_stack_text(text: str, source: str) -> tuple[dict[str, Any], set[str], set[str]]:
    """`read_stack_file` for text already in hand (a stack file about to be written, say)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise ConfigError(
            source, [Problem(where, f"not valid YAML ({getattr(error, 'problem', 'parse error')})")]
        ) from None
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
    config, region = parse_values(values, secret_keys, source, stack=name)
    return LoadedStack(
        name=name,
        source=source,
        config=config,
        region=region,
        pulumi_config={key: _as_pulumi_string(value) for key, value in values.items()},
        secret_keys=frozenset(secret_keys),
        undecryptable=frozenset(undecryptable),
    )


def load_from_pulumi() -> tuple[StackConfig, str | None]:
    """The running stack's config as the Pulumi engine passed it to the program."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
    return parse_values(values, secret_keys, source, stack=pulumi.get_stack())
