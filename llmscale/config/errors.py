"""Config problems: one line each, naming the stack file and the dotted key, never echoing a value.

Pydantic's own error records carry the offending input; nothing here ever formats it, so a secret typed
into the wrong key cannot leak through an error message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from llmscale.config.credentials import looks_like_credential
from llmscale.config.models import PATTERN_HINTS

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


def dotted_key(loc: Iterable[str | int]) -> str:
    """`('models', 0, 'maxReplicas')` as `llmscale:models[0].maxReplicas`."""
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
    known = sorted(f.alias or name for name, f in owner.model_fields.items())
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


def problems_from_validation(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into Problems with stack-file keys and messages that say what to change."""
    problems = []
    for entry in error.errors(include_input=False, include_url=False):
        loc = [part for part in entry["loc"] if not str(part).startswith("function-")]
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
        problems.append(Problem(dotted_key(loc), message))
    return problems
