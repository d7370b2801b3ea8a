"""What keeps `llmscale plan` cheap: it loads only what planning needs, and the cyclic collector stays out of it.

Its CPU time is measured by benchmarks/plan_time.py, not asserted here.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.runner import collector_paused

NOT_FOR_PLAN = ("jinja2", "boto3", "botocore", "moto", "hypothesis", "llmscale.plan.diff", "llmscale.plan.markdown")
"""Modules a plan of a cluster stack has no use for: templates of the single host, AWS API clients, test tools,
and the diff behind `plan --markdown`."""


def _command_modules(tmp_path: Path, *args: str) -> tuple[list[str], bool]:
    """The modules loaded by the `llmscale` console script running `args`, and whether the collector was on."""
    out = tmp_path / "modules.json"
    code = (
        "import atexit, gc, json, sys\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps([sorted(sys.modules), gc.isenabled()])))\n"
        f"sys.argv = ['llmscale', *{list(args)!r}]\n"
        "from llmscale.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE_ROOT, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    modules, enabled = json.loads(out.read_text(encoding="utf-8"))
    return modules, enabled


def test_a_cluster_plan_loads_no_templates_clients_or_test_tools(tmp_path: Path) -> None:
    modules, collector_on = _command_modules(tmp_path, "plan", "onprem", "--json")
    assert "llmscale.plan.report" in modules and "pulumi_kubernetes" in modules  # it did plan
    loaded = [name for name in modules if name.startswith(NOT_FOR_PLAN)]
    assert loaded == []
    assert collector_on is False  # the console script runs one command and exits


def test_plan_markdown_still_loads_the_diff_when_asked(tmp_path: Path) -> None:
    modules, _ = _command_modules(tmp_path, "plan", "onprem", "--markdown", str(tmp_path / "plan.md"))
    assert "llmscale.plan.markdown" in modules
    assert (tmp_path / "plan.md").read_text(encoding="utf-8").strip()


def test_the_collector_is_paused_and_then_restored() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause leaves the outer one in force
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a failing plan")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
