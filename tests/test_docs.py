"""The documentation stays true: the configuration reference matches the config models, every config field is
described, the policy table matches the pack, and every relative link in README.md and docs/ reaches an existing
file and heading."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field

from llmscale.config.models import ConfigModel
from llmscale.config.reference import COMMAND, DOCUMENT, anchor, main, render, sections, undescribed
from llmscale.policy.model import TIERS, Enforcement
from llmscale.policy.pack import POLICIES

REPO = Path(__file__).parent.parent
DOCS = REPO / "docs"
# Written alongside `llmscale simulate`; the README links it ahead of time.
PENDING_TARGETS = {DOCS / "simulate.md"}
README_MAX_LINES = 200


# --- the configuration reference ------------------------------------------------------------------------


def test_the_configuration_reference_is_generated_from_the_models() -> None:
    assert DOCUMENT == DOCS / "configuration.md"
    assert DOCUMENT.read_text(encoding="utf-8") == render(), f"docs/configuration.md is stale: run `{COMMAND}`"


def test_every_config_field_has_a_description() -> None:
    assert undescribed() == []


class _Child(ConfigModel):
    """A nested mapping."""

    described: int = Field(default=1, description="Said.")
    silent: int = 2


class _Parent(ConfigModel):
    """A model with gaps."""

    named: Annotated[str, Field(min_length=1, description="Said.")] = "x"
    bare: bool = True
    children: list[_Child] = Field(default=[], description="Said.")


def test_a_field_without_a_description_is_named_by_its_key() -> None:
    assert undescribed(_Parent) == ["llmscale:bare", "llmscale:children[].silent"]


def test_the_check_mode_fails_on_a_stale_file_and_writing_fixes_it(tmp_path: Path) -> None:
    target = tmp_path / "configuration.md"
    target.write_text("# Configuration reference\n\nhand-edited\n", encoding="utf-8")
    assert main(["--check", "--out", str(target)]) == 1
    assert main(["--out", str(target)]) == 0
    assert main(["--check", "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()


def _row(key: str) -> list[str]:
    row = next(r for s in sections() for r in s.rows if r.key == f"`{key}`")
    return [row.type, row.default, row.description]


def test_rows_show_keys_as_written_with_types_defaults_presets_and_scope() -> None:
    zone_id = _row("llmscale:gateway.hostedZoneId")
    assert zone_id[0] == "string" and zone_id[1] == "none"
    # The section is the multi-gpu and enterprise tiers'; the row says what it narrows to.
    assert zone_id[2].startswith("*Used by platform aws.*")
    assert "Must be a Route 53 hosted zone id" in zone_id[2]
    assert _row("llmscale:models[].gpusPerReplica")[:2] == ["integer 1–8", "`1`"]
    assert _row("llmscale:models[].minReplicas")[1] == "`1`; multi-gpu `2`, enterprise `3`"
    assert _row("llmscale:slo.p99LatencySeconds")[:2] == ["number > 0, ≤ 600", "`10.0` (every tier's preset)"]
    assert _row("llmscale:eks.zoneCount")[1] == "`2`; enterprise `3`"
    assert _row("llmscale:failover.recordName")[1] == "required"
    assert _row("llmscale:schedule.days")[1] == "`[mon, tue, wed, thu, fri]`"
    assert _row("llmscale:hfToken")[0].startswith("secret string")
    scopes = {s.key: s.scope.text() for s in sections()}
    assert scopes["llmscale:eks"] == "multi-gpu, enterprise; platform aws"
    assert scopes["llmscale:host"] == "single-gpu"
    assert scopes["llmscale:failover"] == "enterprise"


# --- links ------------------------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).*?\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """Markdown without code blocks and code spans, where a link is not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors_of(path: Path) -> set[str]:
    """The anchors GitHub gives a file's headings; a repeated heading gets -1, -2, ..."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = anchor(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(path: Path, pending: frozenset[Path] = frozenset()) -> list[str]:
    """Relative links in a Markdown file whose file, or heading, does not exist (files in `pending` may be
    missing)."""
    problems = []
    for target in LINK.findall(_prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # http(s), mailto: not this repository's files
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path.resolve()
        if resolved in pending and not resolved.exists():
            continue
        if not resolved.exists():
            problems.append(f"{path.name}: {target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors_of(resolved):
            problems.append(f"{path.name}: {target}: no heading with anchor #{fragment}")
    return problems


DOCUMENTS = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(p.relative_to(REPO)) for p in DOCUMENTS])
def test_every_relative_link_reaches_a_file_and_heading(path: Path) -> None:
    assert broken_links(path, frozenset(p.resolve() for p in PENDING_TARGETS)) == []


def test_the_link_check_finds_missing_files_and_headings(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A section: `with code`\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md#a-section-with-code) [ok](other.md#twice-1) [ok](#page) [web](https://example.com/x)\n"
        "[gone](missing.md) [no heading](other.md#nothing) [self](#elsewhere)\n"
        "`[in code](missing-too.md)`\n\n```\n[in a block](missing-three.md)\n```\n"
    )
    assert broken_links(page) == [
        "page.md: missing.md: no such file",
        "page.md: other.md#nothing: no heading with anchor #nothing",
        "page.md: #elsewhere: no heading with anchor #elsewhere",
    ]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Capacity planning: `llmscale size`", "capacity-planning-llmscale-size"),
        ("A customer's stack: `llmscale new`", "a-customers-stack-llmscale-new"),
        ("Pull-request previews: `llmscale diff` and `llmscale plan --markdown`",
         "pull-request-previews-llmscale-diff-and-llmscale-plan---markdown"),
        ("`llmscale:models[].canary`", "llmscalemodelscanary"),
        ("LlmscaleGpuXidError", "llmscalegpuxiderror"),
        ("An existing GPU server (`platform: host`)", "an-existing-gpu-server-platform-host"),
    ],
)  # fmt: skip
def test_anchors_follow_githubs_rule(heading: str, slug: str) -> None:
    assert anchor(heading) == slug


def test_the_readme_stays_short() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, "move detail into docs/ and link it"


# --- the policy table ------------------------------------------------------------------------------------

POLICY_ROW = re.compile(r"^\| `([a-z0-9-]+)` \| .+ \| (\S+) \| (\S+) \| (\S+) \|$", re.MULTILINE)


def test_the_policy_table_lists_every_policy_at_its_level_per_tier() -> None:
    """docs/policies.md names each policy of the pack once, in the pack's order, with its enforcement on each tier
    as the pack applies it ("–" where it does not apply)."""
    word = {Enforcement.DISABLED: "–", Enforcement.ADVISORY: "advisory", Enforcement.MANDATORY: "mandatory"}
    rows = POLICY_ROW.findall((DOCS / "policies.md").read_text(encoding="utf-8"))
    assert [name for name, *_ in rows] == [policy.name for policy in POLICIES]
    levels = {policy.name: tuple(word[policy.level_for(tier)] for tier in TIERS) for policy in POLICIES}
    assert {name: tuple(cells) for name, *cells in rows} == levels
