"""Markdown building blocks: escaped text and code, fenced blocks, tables cut at a row limit, plurals."""

from __future__ import annotations

import re
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"
MAX_TABLE_ROWS = 100
MAX_DETAIL_LINES = 400
MAX_BLOCK_PROPERTIES = 40
MAX_DIAGRAM_NODES = 80
ENFORCEMENT_ORDER = {"mandatory": 0, "advisory": 1}


# --- Markdown helpers ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """Plain text safe in a table cell or a paragraph: no HTML, no pipes, no line breaks."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\s*\n\s*", " ", text).replace("|", "\\|")


def code(value: Any) -> str:
    """An inline code span that survives backticks and pipes in the value (safe in table cells)."""
    text = re.sub(r"\s*\n\s*", " ", str(value)).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(lines: list[str], language: str = "") -> list[str]:
    """A fenced block longer than any backtick run inside it, so the content cannot close it early."""
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *lines, fence]


def more(total: int, what: str) -> list[str]:
    """The note under a list or table cut at MAX_TABLE_ROWS entries."""
    return ["", f"… and {total - MAX_TABLE_ROWS} more {what}."] if total > MAX_TABLE_ROWS else []


def table(header: list[str], rows: list[list[str]], what: str) -> list[str]:
    """A Markdown table of at most MAX_TABLE_ROWS rows (cells already escaped), then how many were left out."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows[:MAX_TABLE_ROWS]),
        *more(len(rows), what),
    ]


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"
