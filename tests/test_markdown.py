"""Tests for the Markdown summaries posted on pull requests: one plan (`plan_markdown`) and a diff (`diff_markdown`).

The plan summary must carry the stack's verdict, its violations (mandatory first), schema errors, counts by type,
outputs and a Mermaid diagram that GitHub can render: one declared node per id, every edge between declared
nodes, a tree rooted at the stack, safe ids and labels whatever the resource names, and capped when large.
Neither summary may print a secret or a resource's inputs.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from llmscale.config.loader import LoadedStack, parse_values
from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.diff import AUTHORITATIVE_NOTE, diff_plans
from llmscale.plan.markdown import (
    COMMENT_LIMIT,
    COMMENT_MARKER,
    CUT_NOTE,
    MAX_DETAIL_LINES,
    MAX_DIAGRAM_NODES,
    StackReport,
    diff_markdown,
    mermaid_tree,
    plan_markdown,
    pr_comment,
)
from llmscale.plan.recorder import REDACTED
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program

EXAMPLE_STACKS = ("single-gpu", "single-gpu-host", "onprem")
LEAKED_KEY = "sk-live-MARKDOWNleak0123456789"
HF_TOKEN = "hf_MARKDOWNleakABCDEFGHIJKLMN"
NODE = re.compile(r'^  (n_[A-Za-z0-9_]+)\["((?:[^"\\])*)"\]$')
EDGE = re.compile(r"^  (n_[A-Za-z0-9_]+) --> (n_[A-Za-z0-9_]+)$")
FENCE = re.compile(r"^(`{3,})(.*)$")


# --- helpers ---------------------------------------------------------------------------------------------


def fenced_blocks(markdown: str) -> list[tuple[str, list[str]]]:
    """Every fenced block as (info string, lines); fails on a block left open."""
    blocks: list[tuple[str, list[str]]] = []
    current: tuple[str, str, list[str]] | None = None
    for line in markdown.splitlines():
        match = FENCE.match(line)
        if current is None:
            if match:
                current = (match.group(1), match.group(2).strip(), [])
        elif match and match.group(1).startswith(current[0]) and not match.group(2).strip():
            blocks.append((current[1], current[2]))
            current = None
        else:
            current[2].append(line)
    assert current is None, f"unclosed fence {current[:2]}"
    return blocks


def mermaid_of(markdown: str) -> list[str]:
    diagrams = [lines for info, lines in fenced_blocks(markdown) if info == "mermaid"]
    assert len(diagrams) == 1
    return diagrams[0]


def check_diagram(lines: list[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Assert the diagram is well formed; return its nodes (id → label) and edges."""
    assert lines[0] == "graph TD"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line.startswith("  classDef ") or line.startswith("  class "):
            continue
        node, edge = NODE.match(line), EDGE.match(line)
        assert node or edge, f"not a node or an edge: {line!r}"
        if node:
            assert node.group(1) not in nodes, f"node declared twice: {node.group(1)}"
            label = node.group(2)
            assert "<" not in label.replace("<br/>", ""), label
            assert ">" not in label.replace("<br/>", ""), label
            nodes[node.group(1)] = label
        else:
            edges.append((edge.group(1), edge.group(2)))
    for source, target in edges:
        assert source in nodes, source
        assert target in nodes, target
    # A tree: one root (the stack), every other node with exactly one parent, all reachable.
    parents: dict[str, list[str]] = {}
    for source, target in edges:
        parents.setdefault(target, []).append(source)
    roots = [n for n in nodes if n not in parents]
    assert len(roots) == 1, roots
    assert all(len(p) == 1 for p in parents.values())
    seen, todo = set(), [roots[0]]
    while todo:
        node = todo.pop()
        seen.add(node)
        todo += [t for s, t in edges if s == node]
    assert seen == set(nodes)
    for line in lines:
        assert line.count("[") == line.count("]"), line
    class_lines = [line for line in lines if line.startswith("  class ")]
    for line in class_lines:
        assert all(node in nodes for node in line.split()[1].split(","))
    return nodes, edges


def resources_in_labels(labels: list[str]) -> int:
    """Cloud resources a diagram accounts for: one per named node, N per `N× type` or `N resources` node."""
    total = 0
    counted = (r"^(\d+)× ", r"^(\d+) resources?$", r"^… \d+ more components? with (\d+) resources?$")
    for label in labels:
        first = label.split("<br/>")[0]
        match = next((m for m in (re.match(pattern, first) for pattern in counted) if m), None)
        if match:
            total += int(match.group(1))
        elif "<br/>" in label and not label.split("<br/>")[1].startswith(("llmscale:index:", "pulumi:pulumi:")):
            total += 1
    return total


def synthetic_plan(components: int, per_component: int, *, name: str = "big") -> dict[str, Any]:
    """A plan of `components` nested components, each holding `per_component` resources of two types."""
    stack_urn = f"urn:pulumi:{name}::llmscale::pulumi:pulumi:Stack::llmscale-{name}"
    resources: list[dict[str, Any]] = []
    parent = stack_urn
    for index in range(components):
        urn = f"urn:pulumi:{name}::llmscale::llmscale:index:Part::part-{index}"
        resources.append(
            {"urn": urn, "type": "llmscale:index:Part", "name": f"part-{index}", "custom": False, "parentUrn": parent}
        )
        for item in range(per_component):
            kind = "aws:iam/role:Role" if item % 2 else "aws:ssm/parameter:Parameter"
            resources.append(
                {
                    "urn": f"{urn}-r{item}",
                    "type": kind,
                    "name": f"part-{index}-r{item}",
                    "custom": True,
                    "parentUrn": urn,
                    "inputs": {},
                }
            )
        parent = urn if index % 3 == 0 else parent
    return {
        "formatVersion": 1,
        "stack": name,
        "source": f"stacks/Pulumi.{name}.yaml",
        "tier": "enterprise",
        "platform": "aws",
        "region": "eu-west-1",
        "resources": resources,
        "invokes": [],
        "outputs": {},
        "counts": {},
        "schemaErrors": [],
        "violations": [],
        "summary": {"resources": len(resources), "customResources": 0, "components": 0, "unknownValues": 0},
    }


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The body rows of the first table after `heading`, split on unescaped pipes."""
    lines = markdown.splitlines()
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows[1:]  # without the header


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plans(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {stack: example_plans[stack] for stack in EXAMPLE_STACKS}


# --- the plan summary ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_summary_has_title_verdict_and_sections(plans: dict[str, dict[str, Any]], stack: str) -> None:
    document = plans[stack]
    markdown = plan_markdown(document)
    assert markdown.startswith(
        f"## llmscale plan: `{stack}` (tier {document['tier']}, platform {document['platform']})\n"
    )
    for heading in ("### Policy violations", "### Schema errors", "### Resources by type", "### Component tree"):
        assert f"\n{heading}" in markdown
    mandatory = [v for v in document["violations"] if v["enforcement"] == "mandatory"]
    verdict = "**Blocked:" if mandatory or document["schemaErrors"] else "**Passes:"
    assert verdict in markdown
    rows = table_rows(markdown, "### Resources by type")
    assert {row[0].strip("`"): int(row[1]) for row in rows} == document["counts"]
    assert f"### Policy violations ({len(document['violations'])})" in markdown
    check_diagram(mermaid_of(markdown))


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_summary_prints_no_inputs(plans: dict[str, dict[str, Any]], stack: str) -> None:
    markdown = plan_markdown(plans[stack])
    for resource in plans[stack]["resources"]:
        for key, value in resource["inputs"].items():
            if isinstance(value, str) and len(value) > 40 and value not in json.dumps(plans[stack]["outputs"]):
                assert value not in markdown, (resource["name"], key)
    assert "userData" not in markdown
    assert "assumeRolePolicy" not in markdown


def test_summary_of_the_aws_stack_lists_outputs_and_lookups(plans: dict[str, dict[str, Any]]) -> None:
    markdown = plan_markdown(plans["single-gpu"])
    outputs = {row[0].strip("`"): row[1] for row in table_rows(markdown, "### Outputs")}
    assert set(outputs) == set(plans["single-gpu"]["outputs"])
    assert outputs["models"] == '`["chat"]`'
    assert "region `eu-west-1`" in markdown
    assert "### Looked up at deploy time" in markdown
    assert f"shown as `{REDACTED}`" in markdown  # the example's secrets are not decrypted offline


def test_summary_never_shows_decrypted_secrets() -> None:
    values = {k: v for k, v in _config("single-gpu").items() if not (isinstance(v, dict) and "secure" in v)}
    values.update({"llmscale:apiKeys": json.dumps({"team": LEAKED_KEY}), "llmscale:hfToken": HF_TOKEN})
    secret_keys = frozenset({"llmscale:apiKeys", "llmscale:hfToken"})
    config, region = parse_values(values, secret_keys, "stacks/Pulumi.single-gpu.yaml")
    stack = LoadedStack(
        name="single-gpu",
        source="stacks/Pulumi.single-gpu.yaml",
        config=config,
        region=region,
        pulumi_config={k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()},
        secret_keys=secret_keys,
        undecryptable=frozenset(),
    )
    markdown = plan_markdown(plan_document(run_program(stack, program)))
    assert LEAKED_KEY not in markdown
    assert HF_TOKEN not in markdown


def _config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((PACKAGE_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]


def test_violations_mandatory_first_with_plain_markers(plans: dict[str, dict[str, Any]]) -> None:
    document = copy.deepcopy(plans["single-gpu"])
    document["violations"] = [
        {"policy": "monitoring", "enforcement": "advisory", "resource": None, "message": "no alert | on <latency>"},
        {"policy": "headroom", "enforcement": "mandatory", "resource": "single-gpu-gpu", "message": "no headroom"},
        {"policy": "cost", "enforcement": "disabled", "resource": None, "message": "off"},
    ]
    document["schemaErrors"] = ["Deployment chat: spec.foo: unknown field `foo`"]
    markdown = plan_markdown(document)
    rows = table_rows(markdown, "### Policy violations (3)")
    assert [row[0] for row in rows] == ["**MANDATORY**", "advisory", "disabled"]
    assert rows[0][1:] == ["`headroom`", "`single-gpu-gpu`", "no headroom"]
    assert rows[1][3] == "no alert \\| on &lt;latency&gt;"  # a pipe cannot split the row, HTML is not HTML
    assert all(len(row) == 4 for row in rows)
    assert "**Blocked: 1 mandatory policy violation, 1 schema error and 0 run-time problems" in markdown
    assert "### Schema errors (1)" in markdown
    assert "- `` Deployment chat: spec.foo: unknown field `foo` ``" in markdown
    # Plain-word markers only: no emoji anywhere.
    assert not re.search("[\U0001f000-\U0001ffff\u2600-\u27bf\u2b00-\u2bff]", markdown)


# --- the diagram -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_diagram_shows_every_component_and_accounts_for_every_resource(
    plans: dict[str, dict[str, Any]], stack: str
) -> None:
    document = plans[stack]
    nodes, _ = check_diagram(mermaid_tree(document))
    labels = list(nodes.values())
    components = [r for r in document["resources"] if not r["custom"]]
    for component in components:
        assert f"{component['name']}<br/>{component['type']}" in labels
    assert resources_in_labels(labels) == sum(1 for r in document["resources"] if r["custom"])
    assert len(nodes) <= MAX_DIAGRAM_NODES


def test_diagram_groups_resources_of_one_type_under_a_component(plans: dict[str, dict[str, Any]]) -> None:
    nodes, edges = check_diagram(mermaid_tree(plans["single-gpu"]))
    by_label = {label: node for node, label in nodes.items()}
    host = by_label["single-gpu<br/>llmscale:index:SingleGpuHost"]
    # The host's two secret parameters (the bundle store holds two more, under its own component).
    groups = [node for node, label in nodes.items() if label == "2× aws:ssm/parameter:Parameter"]
    assert any((host, group) in edges for group in groups)
    assert "single-gpu-gpu<br/>aws:ec2/instance:Instance" in by_label


@pytest.mark.parametrize(("components", "per_component"), [(10, 4), (60, 5), (300, 2)])
def test_large_trees_are_capped(components: int, per_component: int) -> None:
    document = synthetic_plan(components, per_component)
    nodes, _ = check_diagram(mermaid_tree(document))
    assert len(nodes) <= MAX_DIAGRAM_NODES
    assert resources_in_labels(list(nodes.values())) == components * per_component
    small = check_diagram(mermaid_tree(document, max_nodes=12))[0]
    assert len(small) <= 12
    assert resources_in_labels(list(small.values())) == components * per_component


def test_names_that_would_break_mermaid_are_made_safe() -> None:
    document = synthetic_plan(3, 1, name='we"ird [stack] #1')
    document["resources"][0]["name"] = 'end "quoted" <b>bold</b> #x; [1]'
    document["resources"][1]["name"] = "graph TD --> end"
    document["resources"][2]["name"] = "part-1"  # two nodes whose ids would collide
    document["resources"][4]["name"] = "part_1"
    nodes, _ = check_diagram(mermaid_tree(document))
    assert all(re.fullmatch(r"n_[A-Za-z0-9_]+", node) for node in nodes)
    labels = "\n".join(nodes.values())
    assert "#quot;quoted#quot;" in labels
    assert "#lt;b#gt;bold#lt;/b#gt;" in labels
    assert "#35;x;" in labels


# --- the diff comment ------------------------------------------------------------------------------------


def test_diff_comment_lists_replacements_with_their_properties(plans: dict[str, dict[str, Any]]) -> None:
    old = plans["single-gpu"]
    new = copy.deepcopy(old)
    vpc = next(r for r in new["resources"] if r["name"] == "single-gpu-net-vpc")
    vpc["inputs"]["cidrBlock"] = "10.1.0.0/16"
    new["resources"] = [r for r in new["resources"] if r["name"] != "single-gpu-ssm-core"]
    diff = diff_plans(old, new)
    markdown = diff_markdown(diff)
    # The verdict first: what is destroyed or replaced, and what of it serves traffic (the GPU host may be).
    verdict, blank, title = markdown.split("\n")[:3]
    assert verdict == f"**`single-gpu`: {diff.verdict.text}**"
    assert "1 to replace, 5 may be replaced, 1 to delete, including 1 that holds state" in verdict
    assert "1 EC2 instance (single-gpu-gpu)" in verdict
    assert (blank, title) == ("", "## llmscale diff: `single-gpu`")
    assert AUTHORITATIVE_NOTE.split(";")[0] in markdown
    assert "pulumi preview" in markdown
    assert f"**0 to create, 1 to delete, 1 to replace, 5 may be replaced, {len(diff.changed)} to update," in markdown
    assert table_rows(markdown, "### Replaced (1)") == [
        ["`single-gpu-net-vpc`", "`aws:ec2/vpc:Vpc`", "cidrBlock forces replacement"]
    ]
    assert table_rows(markdown, "### Deleted (1)") == [
        ["`single-gpu-ssm-core`", "`aws:iam/rolePolicyAttachment:RolePolicyAttachment`"]
    ]
    maybe = table_rows(markdown, "### May be replaced (5)")
    assert ["`single-gpu-gpu`", "`aws:ec2/instance:Instance`"] in [row[:2] for row in maybe]
    assert [
        "`single-gpu-net-public`",
        "`aws:ec2/subnet:Subnet`",
        "vpcId ← single-gpu-net-vpc (replace: cidrBlock)",
    ] in maybe
    diffs = [lines for info, lines in fenced_blocks(markdown) if info == "diff"]
    assert diffs[0] == ["~ cidrBlock  (forces replacement)", '- "10.42.0.0/16"', '+ "10.1.0.0/16"']
    chain = "single-gpu-net-public [Subnet] ← single-gpu-net-vpc (replace: cidrBlock)"
    assert [f"~ subnetId  (may force replacement; known after apply; reads {chain})"] in [d[:1] for d in diffs]
    assert "<details><summary>Changed properties</summary>" in markdown


def test_diff_comment_for_identical_plans(plans: dict[str, dict[str, Any]]) -> None:
    markdown = diff_markdown(diff_plans(plans["onprem"], plans["onprem"]))
    assert markdown.startswith(
        "**`onprem`: NO CHANGES: nothing is created, deleted, replaced or updated.**\n\n## llmscale diff: `onprem`\n"
    )
    unchanged = len(plans["onprem"]["resources"])
    assert f"**0 to create, 0 to delete, 0 to replace, 0 to update, {unchanged} unchanged.**" in markdown
    assert "<details>" not in markdown
    assert "###" not in markdown


def test_diff_comment_shows_secrets_redacted(plans: dict[str, dict[str, Any]]) -> None:
    old = plans["single-gpu"]
    new = copy.deepcopy(old)
    parameter = next(r for r in new["resources"] if r["name"] == "single-gpu-api-keys")
    assert parameter["inputs"]["value"] == REDACTED
    parameter["inputs"]["value"] = LEAKED_KEY
    markdown = diff_markdown(diff_plans(old, new))
    assert LEAKED_KEY not in markdown
    diffs = [lines for info, lines in fenced_blocks(markdown) if info == "diff"]
    assert diffs == [["~ value", f"- {REDACTED}", f"+ {REDACTED}"]]


def test_diff_comment_findings_and_outputs(plans: dict[str, dict[str, Any]]) -> None:
    old, new = copy.deepcopy(plans["onprem"]), copy.deepcopy(plans["onprem"])
    new["violations"] = [
        *new["violations"],
        {"policy": "min-active-replicas", "enforcement": "mandatory", "resource": "x", "message": "one replica"},
    ]
    new["schemaErrors"] = ["HTTPRoute chat: spec.rules[0].foo: unknown field"]
    new["outputs"]["endpoint"] = "https://other.example.com"
    markdown = diff_markdown(diff_plans(old, new))
    rows = table_rows(markdown, "### Policy violations")
    assert rows == [["new", "**MANDATORY**", "`min-active-replicas`", "`x`", "one replica"]]
    assert "### Schema errors" in markdown
    assert "**Blocked: the new plan has 1 mandatory policy violation and 1 schema error" in markdown
    diffs = [lines for info, lines in fenced_blocks(markdown) if info == "diff"]
    assert ["~ endpoint", '- "https://llm.corp.example.com"', '+ "https://other.example.com"'] in diffs


def test_diff_comment_fences_survive_backticks(plans: dict[str, dict[str, Any]]) -> None:
    old = plans["onprem"]
    new = copy.deepcopy(old)
    deployment = next(r for r in new["resources"] if r["name"] == "onprem-chat-deployment")
    deployment["inputs"]["metadata"].setdefault("annotations", {})["note"] = "```\n# not a heading\n```"
    markdown = diff_markdown(diff_plans(old, new))
    blocks = fenced_blocks(markdown)
    assert any(info == "diff" and any("# not a heading" in line for line in lines) for info, lines in blocks)
    assert "\n# not a heading" not in markdown


def test_diff_comment_is_capped(plans: dict[str, dict[str, Any]]) -> None:
    old = synthetic_plan(80, 3)
    new = copy.deepcopy(old)
    for resource in new["resources"]:
        if resource["custom"]:
            resource["inputs"] = {"description": "changed\n" * 30}
    markdown = diff_markdown(diff_plans(old, new))
    details = markdown[markdown.index("<details>") : markdown.index("</details>")]
    assert len(details.splitlines()) <= MAX_DETAIL_LINES + 10
    assert "more not shown: run `llmscale diff`" in details
    assert len(table_rows(markdown, "### Updated in place (240)")) == 100
    assert "… and 140 more resources." in markdown
    fenced_blocks(markdown)  # every fence closed
    assert len(markdown) < 65_000  # GitHub's comment limit is 65,536 characters


# --- the pull-request comment for every stack -----------------------------------------------------------


def _moved(document: dict[str, Any], region: str) -> dict[str, Any]:
    """The plan with the stack's `aws:region` changed: every resource under the default provider is replaced."""
    moved = copy.deepcopy(document)
    moved["region"] = region
    moved["providerConfig"]["aws"]["region"] = region
    return moved


def details_balanced(markdown: str) -> bool:
    opened = sum(line.count("<details") for line in markdown.splitlines())
    return opened == markdown.count("</details>")


@pytest.fixture(scope="module")
def enterprise(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return example_plans["enterprise"]


def _reports(plans: dict[str, dict[str, Any]], enterprise: dict[str, Any], copies: int) -> list[StackReport]:
    """Unchanged stacks, and `copies` enterprise-sized region moves (each replacing some 140 resources)."""
    reports = [StackReport(stack, "compared", diff=diff_plans(plans[stack], plans[stack])) for stack in EXAMPLE_STACKS]
    moved = diff_plans(enterprise, _moved(enterprise, "us-east-2"))
    reports += [StackReport(f"customer-{index}", "compared", diff=moved) for index in range(copies)]
    return reports


def test_unchanged_stacks_are_one_line_each(plans: dict[str, dict[str, Any]], enterprise: dict[str, Any]) -> None:
    comment = pr_comment(_reports(plans, enterprise, 1), "Compared at abc1234.")
    lines = comment.splitlines()
    assert lines[0] == COMMENT_MARKER
    assert lines[1] == "**llmscale preview: DESTRUCTIVE.** 4 stacks: 1 destructive (`customer-0`); 3 unchanged."
    for stack in EXAMPLE_STACKS:
        (line,) = [line for line in lines if f"`{stack}`" in line]
        count = len(plans[stack]["resources"])
        assert line == f"- `{stack}`: no changes ({count} resource{'s' if count > 1 else ''})."
    assert comment.count("<details><summary><b>") == 1
    assert len(comment) < COMMENT_LIMIT
    assert CUT_NOTE not in comment


def test_a_comment_too_long_for_github_is_cut_with_a_note(
    plans: dict[str, dict[str, Any]], enterprise: dict[str, Any]
) -> None:
    reports = _reports(plans, enterprise, 6)
    full = pr_comment(reports, full=True)
    assert len(full) > COMMENT_LIMIT  # the job summary has room for all of it
    comment = pr_comment(reports)
    assert len(comment) < COMMENT_LIMIT
    assert CUT_NOTE in comment
    # Every stack keeps its line or its <details> summary with the verdict; tags and fences stay balanced.
    for index in range(6):
        assert f"<details><summary><b>customer-{index}</b>: DESTRUCTIVE: " in comment
    assert details_balanced(comment)
    fenced_blocks(comment)  # fails on a fence left open
    assert comment.split("\n")[1].startswith("**llmscale preview: DESTRUCTIVE.** 9 stacks: 6 destructive")
    assert full.startswith(comment.split(CUT_NOTE)[0].rsplit("\n", 3)[0])


@pytest.mark.parametrize("limit", [4_000, 9_000, 20_000, 40_000])
def test_cutting_keeps_the_markdown_well_formed(
    plans: dict[str, dict[str, Any]], enterprise: dict[str, Any], limit: int
) -> None:
    comment = pr_comment(_reports(plans, enterprise, 3), limit=limit)
    assert len(comment) < limit
    assert details_balanced(comment)
    fenced_blocks(comment)
    assert comment.count("<details><summary><b>customer-") == 3
