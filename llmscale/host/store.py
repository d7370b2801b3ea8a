"""Where the single host's bundle files live in S3: their keys, resource names and content types."""

from __future__ import annotations

import re

from llmscale.host.bundle import BUNDLE_PREFIX


def object_key(path: str) -> str:
    """The S3 key of a bundle file."""
    return f"{BUNDLE_PREFIX}/{path}"


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def content_type(path: str) -> str:
    """The Content-Type S3 stores with a bundle file (what a person opening it in the console sees)."""
    if path.endswith(".json"):
        return "application/json"
    if path.endswith((".yml", ".yaml")):
        return "application/yaml"
    return "text/plain; charset=utf-8"
