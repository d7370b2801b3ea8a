"""Config problems: one line each, naming the stack file and the dotted key, never echoing a value.

Pydantic's own error records carry the offending input; nothing here ever formats it, so a secret typed
into the wrong key cannot leak through an error message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from llmscale.config.credentials import looks_like_credential
from llmscale.config.models import PATTERN_HINTS, STACK_VARIANTS, Platform, StackConfig, platforms_of

NAMESPACE = "llmscale"
MAX_SHOWN_KEY = 80


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack's config: where (dotted key) and what would fix it."""

    key: str
    message: str

    def render(self, source: str) -> str:
        """The problem as the one line users see: `FILE: KEY: MESSAGE`."""
        return f"{source}: {self.key}: {self.message}"


class ConfigError(Exception):
    """A stack's config is invalid; carries every problem found, not just the first."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One rendered line per problem."""
        return [problem.render(self.source) for problem in self.problems]


def shown_key(key: str) -> str:
    """A key as messages name it: as written, unless it could break the one-line format or be a pasted secret
    (control characters, over 80 characters, or the look of a credential), then `<key>`."""
    if 0 < len(key) <= MAX_SHOWN_KEY and key.isprintable() and looks_like_credential(key) is None:
        return key
    return "<key>"


REGION_KEY = "aws:region"
REGION_REQUIRED = "required on platform aws (for example `pulumi config set aws:region eu-west-1`)"


def dotted_key(loc: Iterable[str | int]) -> str:
    """`('models', 0, 'maxReplicas')` as `llmscale:models[0].maxReplicas`; `('aws:region',)` stays `aws:region`."""
    loc = list(loc)
    if loc == [REGION_KEY]:
        return REGION_KEY
    key = NAMESPACE
    first = True
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += (":" if first else ".") + shown_key(part)
        first = False
    return key


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model class that owns the keys at `loc`, following list items and nested models."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)),
            None,
        )
        if field is None:
            return None
        current = _nested_model(field.annotation)
    return current


def _nested_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _unknown_key_message(model: type[BaseModel], loc: Sequence[str | int]) -> str:
    owner = _model_at(model, loc[:-1])
    if owner is None:
        return "unknown key"
    # `aws:region` is the AWS provider's key, written in its own namespace: not one to suggest under llmscale's.
    known = sorted(alias for name, f in owner.model_fields.items() if (alias := f.alias or name) != REGION_KEY)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown key; {hint}known keys: {', '.join(known)}"


def _key_from_message(model: type[BaseModel], loc: list[str | int], message: str) -> tuple[list[str | int], str]:
    """Model-level validators name the key they blame as `key: message`; move that key into the location."""
    head, sep, rest = message.partition(": ")
    owner = _model_at(model, loc)
    if sep and owner is not None and any(head in (n, f.alias) for n, f in owner.model_fields.items()):
        return [*loc, head], rest
    return loc, message


def _problem(entry: ErrorDetails, loc: list[str | int], model: type[BaseModel]) -> Problem:
    """One pydantic error at `loc` (in `model`) as a Problem with a message that says what to change."""
    kind = entry["type"]
    if kind == "extra_forbidden":
        message = _unknown_key_message(model, loc)
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "string_pattern_mismatch":
        message = PATTERN_HINTS.get(str(entry.get("ctx", {}).get("pattern")), "has an invalid format")
    else:
        message = entry["msg"].removeprefix("Value error, ")
        loc, message = _key_from_message(model, loc, message)
    return Problem(dotted_key(loc), message)


def _loc(entry: ErrorDetails) -> list[str | int]:
    return [part for part in entry["loc"] if not str(part).startswith("function-")]


def problems_from_validation(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into Problems with stack-file keys and messages that say what to change."""
    return [_problem(entry, _loc(entry), model) for entry in error.errors(include_input=False, include_url=False)]


# Why a top-level key is refused on a platform that has no use for it, by the platforms that do read it.
_ELSEWHERE: dict[tuple[str, ...], str] = {
    ("aws",): "only used on platform aws (llmscale builds the cluster there); remove it",
    ("aws", "host"): "only used on platforms aws and host (the single-gpu tier); remove it",
    ("aws", "kubernetes"): "only used on platforms aws and kubernetes (a cluster); remove it",
}


def stack_problems(error: ValidationError, *, name_other_platforms: bool = True) -> list[Problem]:
    """`problems_from_validation` for a whole stack (`parse_stack_config`): the platform variant's errors, with
    keys another platform reads named as such, and the region as the `aws:region` key it is written as.

    `name_other_platforms=False` leaves out the keys another platform reads: when the platform does not fit the
    tier, the platform is what to change, not the tier's sections.
    """
    if error.title == StackConfig.__name__:
        return problems_from_validation(error, StackConfig)  # no valid platform: the shared keys' problems
    problems = []
    for entry in error.errors(include_input=False, include_url=False):
        kind = entry["type"]
        tag, *loc = _loc(entry)
        variant = STACK_VARIANTS[Platform(str(tag))]
        elsewhere = platforms_of(str(loc[0])) if kind == "extra_forbidden" and len(loc) == 1 else ()
        if elsewhere and not name_other_platforms:
            continue
        if elsewhere:
            problems.append(Problem(dotted_key(loc), _ELSEWHERE[tuple(str(p) for p in elsewhere)]))
        elif loc == [REGION_KEY] and kind == "missing":
            problems.append(Problem(REGION_KEY, REGION_REQUIRED))
        else:
            problems.append(_problem(entry, loc, variant))
    return problems
