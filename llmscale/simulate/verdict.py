"""The simulation's one-line verdict for `llmscale plan --markdown`: a business day of the planned stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmscale.simulate.engine import simulate
from llmscale.simulate.report import build_report, summary_line
from llmscale.simulate.run import Options
from llmscale.simulate.stack import SimulationError, stack_from_plan

WARM_UP_MINUTES = 120


def _plain(text: str) -> str:
    """Text safe in a Markdown paragraph: no HTML, no table pipes, no line breaks."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return " ".join(text.split())


def plan_verdict(document: Mapping[str, Any]) -> str:
    """One Markdown line: the simulated Monday's GPU-hours, latency against the SLO, requests and verdict.

    The day is the built-in business day with seed 0, as `llmscale simulate STACK` plays it by default; a plan the
    simulator cannot play says why instead.
    """
    try:
        report = build_report(simulate(stack_from_plan(document), Options(days=1, warm_up_minutes=WARM_UP_MINUTES)))
    except SimulationError as error:
        return f"**Simulated business day:** not simulated ({_plain(str(error))})."
    return f"**Simulated business day:** {_plain(summary_line(report))} (`llmscale simulate` for the details)."
