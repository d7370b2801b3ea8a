"""Usage errors as the CLI prints them: one line, naming the option, exit code 2, never a traceback.

Typed values can hold anything (a newline, a terminal escape): `one_line` escapes what is not printable, so a
message stays one line whatever the user typed. `click_error_line` turns click's own errors (a missing option,
a value that is not a number) into the same shape, for the top-level command group.
"""

from __future__ import annotations

from collections.abc import Iterable

import typer

try:  # typer vendors click as typer._click (0.26 on) and no longer installs click itself
    from typer._click import exceptions as click_exceptions
except ImportError:  # an older typer runs on click
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

ClickException = click_exceptions.ClickException
Abort = typer.Abort
NoArgsIsHelpError = click_exceptions.NoArgsIsHelpError

MAX_MESSAGE = 400


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line: non-printable characters escaped (`\\n`, `\\x1b`), at most `limit` characters."""
    escaped = "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def shown(value: object, limit: int = 60) -> str:
    """A user's value inside a message: quoted, escaped, shortened."""
    return repr(one_line(str(value), limit))


def err(text: str) -> None:
    """Human output on stderr, as it is (a plan tree, next steps)."""
    typer.echo(text, err=True)


def err_line(text: str) -> None:
    """One message on stderr, kept to one line (`one_line`) whatever it quotes."""
    typer.echo(one_line(text), err=True)


def fail(lines: Iterable[str], code: int = 2) -> typer.Exit:
    """Print each problem as one line on stderr; the Exit (code 2 unless told) to raise."""
    for line in lines:
        err_line(line)
    return typer.Exit(code)


def usage_error(option: str, message: str, prefix: str = "") -> typer.Exit:
    """Print `[prefix: ]option: message` on stderr as one line; the Exit (code 2) to raise."""
    head = f"{prefix}: " if prefix else ""
    return fail([f"{head}{option}: {message}"])


def _param_name(error: ClickException) -> str | None:
    param = getattr(error, "param", None)
    if param is not None:
        opts = [opt for opt in getattr(param, "opts", []) if opt.startswith("--")]
        if opts:
            return opts[0]
        if getattr(param, "param_type_name", None) == "argument":
            return (param.metavar or param.name or "ARGUMENT").upper()
    hint = getattr(error, "param_hint", None)
    if isinstance(hint, str):
        return hint.strip("'\"")
    return None


def click_error_line(error: ClickException) -> str:
    """One line for a click error: `llmscale CMD: --option: what is wrong`."""
    context = getattr(error, "ctx", None)
    where = context.command_path if context is not None else "llmscale"
    message = error.format_message().strip().rstrip(".")
    if isinstance(error, click_exceptions.MissingParameter):
        name = _param_name(error)
        return one_line(f"{where}: {name or 'a value'}: required")
    if isinstance(error, click_exceptions.NoSuchOption):
        name = one_line(error.option_name, 60)
        close = f" (did you mean {', '.join(error.possibilities)}?)" if error.possibilities else ""
        return one_line(f"{where}: {name}: no such option{close}")
    if isinstance(error, click_exceptions.BadParameter):
        name = _param_name(error)
        detail = error.message.strip().rstrip(".").removeprefix("Value error, ")
        return one_line(f"{where}: {name}: {detail}" if name else f"{where}: {detail}")
    return one_line(f"{where}: {message}")
