"""Property paths and values: how two inputs are compared and where their changes are."""

from __future__ import annotations

import json
import re
from typing import Any

from llmscale.plan.diff.model import PropertyChange, PropertyPath, Segment
from llmscale.plan.recorder import REDACTED, SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_TEXT

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_$@:/-]+$")
_PATH_TOKEN = re.compile(r'\.?([^.\[\]"]+)|\[(\d+|\*|"(?:[^"\\]|\\.)*")\]')


def format_path(path: PropertyPath) -> str:
    """Pulumi's property path syntax: `a.b[0].c`, with `["key.with.dots"]` for keys that need quoting."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _PLAIN_KEY.match(segment) and not segment.isdigit():
            text += f".{segment}" if text else segment
        else:
            text += f"[{json.dumps(segment)}]"
    return text


def parse_path(text: str) -> PropertyPath:
    """The segments of a property path as written in `ignoreChanges` (`spec.replicas`, `tags["Name"]`, `a[*]`)."""
    segments: list[Segment] = []
    position = 0
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if match is None or match.end() == position:
            return (*segments, text[position:])  # unparseable tail: kept whole, matches nothing but itself
        key, bracket = match.groups()
        if key is not None:
            segments.append(key)
        elif bracket == "*":
            segments.append("*")
        elif bracket.startswith('"'):
            segments.append(json.loads(bracket))
        else:
            segments.append(int(bracket))
        position = match.end()
    return tuple(segments)


def starts_with(path: PropertyPath, prefix: PropertyPath) -> bool:
    if len(prefix) > len(path):
        return False
    return all(p == "*" or p == s for p, s in zip(prefix, path, strict=False))


# --- values ----------------------------------------------------------------------------------------------


def _is_secret(value: Any) -> bool:
    return value == REDACTED or (isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE)


def normalize(value: Any) -> Any:
    """Secrets in any form as `[secret]` (a document written by hand might hold the SDK's wrapped form)."""
    if _is_secret(value):
        return REDACTED
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def _holds_secret(value: Any) -> bool:
    if _is_secret(value):
        return True
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def equal(old: Any, new: Any) -> bool:
    """JSON equality: like ==, except that true is not 1 and false is not 0."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(equal(old[key], new[key]) for key in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(equal(a, b) for a, b in zip(old, new, strict=True))
    return bool(old == new)


def _diff_values(old: Any, new: Any, path: PropertyPath, out: list[tuple[PropertyPath, str, Any, Any]]) -> None:
    """Append (path, kind, old, new) for every leaf that differs; values are normalized already."""
    if equal(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in new:
                out.append(((*path, key), "delete", old[key], None))
            elif key not in old:
                out.append(((*path, key), "add", None, new[key]))
            else:
                _diff_values(old[key], new[key], (*path, key), out)
        return
    if isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            if index >= len(new):
                out.append(((*path, index), "delete", old[index], None))
            elif index >= len(old):
                out.append(((*path, index), "add", None, new[index]))
            else:
                _diff_values(old[index], new[index], (*path, index), out)
        return
    if _is_secret(old) or _is_secret(new):
        old, new = REDACTED, REDACTED
    elif (_holds_secret(old) or _holds_secret(new)) and not (isinstance(old, str) and isinstance(new, str)):
        old, new = REDACTED, REDACTED  # a structure holding a secret replaced by something else: show neither
    out.append((path, "update", old, new))


def diff_values(old: Any, new: Any) -> list[PropertyChange]:
    """The property changes between two JSON-like values (plan inputs or outputs), secrets redacted."""
    raw: list[tuple[PropertyPath, str, Any, Any]] = []
    _diff_values(normalize(old), normalize(new), (), raw)
    return [PropertyChange(path=format_path(path), kind=kind, old=o, new=n) for path, kind, o, n in raw]


def overlaps(path: PropertyPath, rule: PropertyPath) -> bool:
    """Whether two paths agree on their common prefix (`*` matches any segment)."""
    return all(a == b or "*" in (a, b) for a, b in zip(path, rule, strict=False))


def _holds(value: Any, path: PropertyPath) -> bool:
    """Whether `value` has something at `path` (`*`: any element or key)."""
    if not path:
        return value is not None
    head, rest = path[0], path[1:]
    if head == "*":
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
        return any(_holds(item, rest) for item in items)
    if isinstance(value, dict) and isinstance(head, str) and head in value:
        return _holds(value[head], rest)
    if isinstance(value, list) and isinstance(head, int) and 0 <= head < len(value):
        return _holds(value[head], rest)
    return value in (UNKNOWN_TEXT, REDACTED)  # an opaque value may hold anything
