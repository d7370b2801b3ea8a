"""The policy vocabulary: resource records, findings, violations and per-tier enforcement.

Rules are pure functions from an Inventory (the stack's resources as plain records) to Findings. The same
rules run in `llmscale plan` (records from the offline plan) and in `pulumi preview --policy-pack policies`
(records from CrossGuard's resources).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from llmscale.policy.settings import SETTINGS_TYPE


class Enforcement(StrEnum):
    """What a violation does: block the deployment, warn, or nothing."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Record:
    """One resource as a rule sees it: type, name, properties (camelCase) and its place in the tree."""

    type: str
    name: str
    props: dict[str, Any]
    urn: str | None = None
    parent: str | None = None
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A rule's complaint about one resource (or about the stack when `resource` is None)."""

    message: str
    resource: str | None = None
    urn: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Violation:
    """A finding with its policy and the enforcement that applies to this stack's tier."""

    policy: str
    enforcement: Enforcement
    message: str
    resource: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used in plan documents."""
        return {
            "policy": self.policy,
            "enforcement": str(self.enforcement),
            "resource": self.resource,
            "message": self.message,
        }


@dataclass
class Inventory:
    """The resources of one stack, with the stack's declared settings."""

    records: list[Record]
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[Record]) -> Inventory:
        """An inventory whose settings come from the StackSettings record, if the stack has one."""
        records = list(records)
        settings = next((r.props for r in records if r.type == SETTINGS_TYPE), {})
        return cls(records=records, settings=dict(settings))

    def of_type(self, *types: str) -> Iterator[Record]:
        """Records of the given resource types, in inventory order."""
        return (r for r in self.records if r.type in types)

    def kubernetes(self, kind: str) -> Iterator[Record]:
        """Kubernetes objects of a kind (e.g. `Deployment`), whatever their API group."""
        return (r for r in self.records if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}"))

    @property
    def tier(self) -> str | None:
        """The stack's tier, as its settings declare it."""
        return self.settings.get("tier")


Rule = Callable[[Inventory], Iterable[Finding]]


@dataclass(frozen=True)
class Policy:
    """A named rule with its enforcement per tier (tiers not listed: disabled)."""

    name: str
    description: str
    rule: Rule
    enforcement: dict[str, Enforcement]

    def level_for(self, tier: str | None) -> Enforcement:
        """The enforcement for a tier; a stack without settings gets the strictest level any tier has."""
        if tier is None:
            levels = set(self.enforcement.values())
            return Enforcement.MANDATORY if Enforcement.MANDATORY in levels else Enforcement.ADVISORY
        return self.enforcement.get(tier, Enforcement.DISABLED)


TIERS = ("single-gpu", "multi-gpu", "enterprise")


def everywhere(level: Enforcement) -> dict[str, Enforcement]:
    """The same enforcement on every tier."""
    return dict.fromkeys(TIERS, level)


def clustered(level: Enforcement) -> dict[str, Enforcement]:
    """An enforcement for the multi-gpu and enterprise tiers only."""
    return {"multi-gpu": level, "enterprise": level}
