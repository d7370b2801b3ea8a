"""Size of the pull-request comment and time of `diff_plans`, on the example stacks.

Scenarios: every stack unchanged; every stack unchanged but one region move (multi-gpu); every stack with a
change (aws stacks moved to another region, onprem to another cluster context); and the full report of that
last one (the job summary, plan summaries included). Prints characters per comment against GitHub's 65,536 and
the median time of `diff_plans` per stack. Usage: python benchmarks/diff_comment.py [--runs N]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import Any

from llmscale.config.loader import load_stack
from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.diff import diff_plans
from llmscale.plan.markdown import COMMENT_LIMIT, StackReport, plan_markdown, pr_comment
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program


def example_stacks() -> list[str]:
    """Every stack file in stacks/, by name."""
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (PACKAGE_ROOT / "stacks").glob("Pulumi.*.yaml")
    )


def moved(document: dict[str, Any]) -> dict[str, Any]:
    """The plan after a provider move: another AWS region, or another Kubernetes context."""
    result = copy.deepcopy(document)
    if document.get("region"):
        result["region"] = "us-east-2"
        result["providerConfig"]["aws"]["region"] = "us-east-2"
    for resource in result["resources"]:
        if resource["type"] == "pulumi:providers:kubernetes" and "context" in resource["inputs"]:
            resource["inputs"]["context"] = "another-cluster"
    return result


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plans = {stack: plan_document(run_program(load_stack(stack), program)) for stack in example_stacks()}
    after = {stack: moved(document) for stack, document in plans.items()}

    def reports(changed: set[str], summaries: bool = False) -> list[StackReport]:
        return [
            StackReport(
                stack,
                "compared",
                diff=diff_plans(document, after[stack] if stack in changed else document),
                summary=plan_markdown(after[stack]) if summaries else None,
            )
            for stack, document in plans.items()
        ]

    print(f"{len(plans)} example stacks; GitHub accepts {COMMENT_LIMIT:,} characters in a comment")
    for label, comment in (
        ("all unchanged", pr_comment(reports(set()))),
        ("multi-gpu moved to another region", pr_comment(reports({"multi-gpu"}))),
        ("every stack moved", pr_comment(reports(set(plans)))),
        ("every stack moved, job summary", pr_comment(reports(set(plans), summaries=True), full=True)),
    ):
        print(f"  {label:<36} {len(comment):>8,} characters")
    print(f"diff_plans, median of {args.runs} runs:")
    for stack, document in plans.items():
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            diff = diff_plans(document, after[stack])
            times.append(time.perf_counter() - start)
        print(
            f"  {stack:<16} {len(document['resources']):>4} resources  {statistics.median(times) * 1000:7.1f} ms  "
            f"({diff.summary_line()})"
        )


if __name__ == "__main__":
    main()
