"""`llmscale:sizing.calibration`: the measured results a stack is sized from, read from its project directory.

The key holds a path; the points are read where the stack is checked (`llmscale validate`, `llmscale plan`, the
program under `pulumi up`) and where it is sized (its policies' headroom figures, `llmscale simulate`), always
against the same directory: the project's, where Pulumi.yaml is (`llmscale.paths.stacks_project` offline,
`llmscale.paths.program_project` in the program).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmscale.config.errors import Problem, dotted_key
from llmscale.config.models import StackConfig

if TYPE_CHECKING:
    from llmscale.sizing.measurements import CalibrationPoint

KEY = dotted_key(["sizing", "calibration"])
MAX_SHOWN = 200


class CalibrationKeyError(Exception):
    """`sizing.calibration` names results that cannot be used; `problem` is the one line that says why."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.message)


def calibration_path(value: str, project: Path) -> Path:
    """Where a `sizing.calibration` value points: an absolute path as it is, a relative one under `project`."""
    path = Path(value)
    return path if path.is_absolute() else project / path


def _shown(value: str) -> str:
    """The value as a message may show it: a path fits on one line; anything else is not repeated."""
    return value if len(value) <= MAX_SHOWN and value.isprintable() else "the path given"


def stack_calibration(config: StackConfig, project: Path) -> tuple[CalibrationPoint, ...]:
    """The measured points a stack is sized from (none without the key), read relative to `project`.

    Raises CalibrationKeyError naming the key when the results are missing, unreadable or not results.
    """
    value = config.sizing.calibration
    if value is None:
        return ()
    from llmscale.sizing.calibration_file import load_calibration
    from llmscale.sizing.gpus import CalibrationError

    path = calibration_path(value, project)
    try:
        exists = path.exists()
    except OSError:  # a name too long for the file system, say
        exists = False
    if not exists:
        where = "" if Path(value).is_absolute() else f" in the project directory {project} (where Pulumi.yaml is)"
        raise CalibrationKeyError(
            Problem(
                KEY,
                f"{_shown(value)}: no such file or directory{where}; give the `vllm bench serve` results "
                "(a file, or a directory of them) the stack is sized from, or remove the key",
            )
        )
    try:
        return load_calibration(path)
    except CalibrationError as error:
        raise CalibrationKeyError(Problem(KEY, str(error) if value.isprintable() else "not usable results")) from None
    except OSError as error:  # a directory that cannot be listed
        reason = error.strerror or type(error).__name__
        raise CalibrationKeyError(Problem(KEY, f"{_shown(value)}: cannot read ({reason})")) from None


def calibration_problems(config: StackConfig, project: Path) -> list[Problem]:
    """The problem with a stack's `sizing.calibration`, if any (one line naming the key and the file)."""
    try:
        stack_calibration(config, project)
    except CalibrationKeyError as error:
        return [error.problem]
    return []
