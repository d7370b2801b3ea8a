"""The replace table: which input changes force a resource's replacement, per type, from the providers' source."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any

from llmscale.plan.diff.model import REPLACE_TABLE, PropertyPath
from llmscale.plan.diff.values import parse_path


@dataclass(frozen=True)
class ReplaceRule:
    """A property whose change replaces the resource instead of updating it in place.

    `path` is a property path (`*` any list element); `when` holds alternatives the diff evaluates (any one makes
    the rule apply); a `condition` without `when` is one the plans cannot evaluate. `unknown_replaces`: an unknown
    value replaces too (a Kubernetes provider's kubeconfig). `origin` says where the rule comes from.
    """

    path: PropertyPath
    condition: str | None = None
    when: tuple[dict[str, Any], ...] = ()
    unknown_replaces: bool = False
    origin: str = "provider"


@dataclass(frozen=True)
class RecomputedOutput:
    """An output the provider computes anew when the resource changes (terraform-provider-aws CustomizeDiff
    `customdiff.ComputedIf`): unknown in a preview of the update, so whatever reads it changes too.

    A change to any top-level input outside `unless_only` renews it, when one of `when` holds (if any); with
    `unless_only` None (a rule the generator could not read, `condition` says which) any change may.
    """

    output: str
    unless_only: frozenset[str] | None = None
    when: tuple[dict[str, Any], ...] = ()
    condition: str | None = None


@dataclass(frozen=True)
class TypeRules:
    """The replace rules of one resource type, the inputs no rule is known for, and the outputs an update renews."""

    rules: tuple[ReplaceRule, ...] = ()
    unverified: tuple[PropertyPath, ...] = ()
    known: bool = True
    recomputed: tuple[RecomputedOutput, ...] = ()


def _rule(entry: dict[str, Any], origin: str) -> ReplaceRule:
    return ReplaceRule(
        path=parse_path(entry["path"]),
        condition=entry.get("condition"),
        when=tuple(entry.get("when") or ()),
        unknown_replaces=bool(entry.get("unknownReplaces")),
        origin=origin,
    )


@functools.cache
def replace_table() -> dict[str, TypeRules]:
    """Pulumi type → its replace rules, from the vendored table (see replacements/SOURCES.md)."""
    document = json.loads(REPLACE_TABLE.read_text(encoding="utf-8"))
    table: dict[str, TypeRules] = {}
    for kind, entry in document["types"].items():
        origin = entry["source"]["repository"]
        table[kind] = TypeRules(
            rules=tuple(_rule(rule, origin) for rule in entry["replaceOnChanges"]),
            unverified=tuple(parse_path(path) for path in entry.get("unverified", ())),
            recomputed=tuple(
                RecomputedOutput(
                    output=output["output"],
                    unless_only=frozenset(output["unlessOnly"]) if "unlessOnly" in output else None,
                    when=tuple(output.get("when") or ()),
                    condition=output.get("condition"),
                )
                for output in entry.get("recomputedOutputs", ())
            ),
        )
    return table


# pulumi-kubernetes replaces any object whose name or namespace changes, custom resources included
# (provider/pkg/provider/provider.go, `Diff`: ".metadata.name", ".metadata.namespace").
_KUBERNETES_IDENTITY = (
    ReplaceRule(("metadata", "name"), origin="pulumi/pulumi-kubernetes"),
    ReplaceRule(("metadata", "namespace"), origin="pulumi/pulumi-kubernetes"),
)


def rules_for(resource: dict[str, Any]) -> TypeRules:
    """The replace rules for a plan resource: its type's, plus the program's own `replaceOnChanges`."""
    kind = resource["type"]
    rules = replace_table().get(kind)
    if rules is None:
        identity = _KUBERNETES_IDENTITY if kind.startswith("kubernetes:") else ()
        rules = TypeRules(rules=identity, known=not resource.get("custom", True) or kind.startswith("pulumi:"))
    own = [p for p in resource.get("replaceOnChanges") or [] if isinstance(p, str)]
    if own:
        extra = tuple(ReplaceRule(("*",) if p == "*" else parse_path(p), origin="replaceOnChanges") for p in own)
        rules = dataclasses.replace(rules, rules=rules.rules + extra)
    return rules
