"""Deep merge of JSON-like values, the one rule every layered setting in llmscale follows."""

from __future__ import annotations

from typing import Any


def deep_merge(base: Any, override: Any) -> Any:
    """`override` over `base`: mappings merge key by key (recursively), anything else is replaced by the override.

    Neither argument is changed; the result shares unchanged sub-values with them.
    """
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override
