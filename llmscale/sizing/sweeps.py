"""Sizing across loads: the planner's answer at each of many loads, and the most users a number of GPUs serves.

`curve` feeds the `llmscale size --plot` chart; `users_served` gives the README's tier table its figures. Both
size without the error range (`size(..., with_range=False)`): they only need `gpusNeeded` and the latency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from llmscale.sizing.inputs import SizingError, SizingInputs
from llmscale.sizing.measurements import CalibrationPoint
from llmscale.sizing.planner import size
from llmscale.sizing.results import SizingResult


def curve(
    inputs: SizingInputs, loads: Iterable[float], calibration: Sequence[CalibrationPoint] = ()
) -> list[tuple[float, SizingResult | None]]:
    """Size `inputs` at each load (users, or requests/s when `inputs` gives a rate); None where unreachable."""
    points: list[tuple[float, SizingResult | None]] = []
    for load in loads:
        if inputs.requests_per_second is not None:
            varied = replace(inputs, requests_per_second=float(load))
        else:
            varied = replace(inputs, users=int(load))
        try:
            points.append((load, size(varied, calibration, with_range=False)))
        except SizingError:
            points.append((load, None))
    return points


def users_served(gpus: int, inputs: SizingInputs, limit: int = 100_000) -> int:
    """The most concurrent users `inputs` (its model, GPU, SLO and tokens) serve with at most `gpus` GPUs at peak.

    The README's tier table quotes these figures for a stack's defaults; a test keeps the two equal.
    """

    def fits(users: int) -> bool:
        try:
            return size(replace(inputs, users=users, requests_per_second=None), with_range=False).gpus_needed <= gpus
        except SizingError:
            return False

    if not fits(1):
        return 0
    low, high = 1, 2
    while high <= limit and fits(high):
        low, high = high, high * 2
    while high - low > 1:  # more users never need fewer GPUs (the planner is monotone)
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low
