"""Plans and plan diffs as GitHub-flavoured Markdown, for pull-request comments and job summaries.

`plan_markdown` summarises one plan (counts by type, policy violations, schema errors, outputs and a Mermaid
diagram of the component tree, which GitHub renders); `diff_markdown` summarises `diff_plans`. Neither prints a
resource's inputs: the only values shown are outputs and changed properties, which the plan and the diff have
redacted already (secrets `[secret]`). Markers are plain words, so the comment reads the same in any client.
"""

from __future__ import annotations

from llmscale.plan.markdown.blocks import (
    MAX_BLOCK_PROPERTIES,
    MAX_DETAIL_LINES,
    MAX_DIAGRAM_NODES,
    MAX_TABLE_ROWS,
    STACK_TYPE,
)
from llmscale.plan.markdown.comment import (
    COMMENT_LIMIT,
    COMMENT_MARKER,
    CUT_NOTE,
    StackReport,
    overall_verdict,
    pr_comment,
)
from llmscale.plan.markdown.diff_summary import diff_markdown, diff_verdict_line
from llmscale.plan.markdown.plan_summary import plan_markdown
from llmscale.plan.markdown.tree import mermaid_tree

__all__ = [
    "COMMENT_LIMIT",
    "COMMENT_MARKER",
    "CUT_NOTE",
    "MAX_BLOCK_PROPERTIES",
    "MAX_DETAIL_LINES",
    "MAX_DIAGRAM_NODES",
    "MAX_TABLE_ROWS",
    "STACK_TYPE",
    "StackReport",
    "diff_markdown",
    "diff_verdict_line",
    "mermaid_tree",
    "overall_verdict",
    "plan_markdown",
    "pr_comment",
]
