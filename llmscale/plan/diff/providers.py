"""Providers in two plans: which provider manages a resource, and which config changes replace it."""

from __future__ import annotations

from typing import Any

from llmscale.plan.diff.replace_table import TypeRules, replace_table
from llmscale.plan.recorder import UNKNOWN_TEXT


def _package(resource_type: str) -> str:
    return resource_type.split(":", 1)[0]


class Providers:
    """Which provider manages each resource of a plan, and that provider's config."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.by_urn = {r["urn"]: r for r in document["resources"] if r["type"].startswith("pulumi:providers:")}
        self.by_name = {r["name"]: r["urn"] for r in self.by_urn.values()}

    def key(self, resource: dict[str, Any]) -> str | None:
        """The provider's URN, `default:<package>` for the default provider, None for components and providers."""
        if not resource.get("custom", True) or resource["type"].startswith(("pulumi:", "llmscale:")):
            return None
        if resource.get("providerUrn"):
            return str(resource["providerUrn"])
        if resource.get("provider"):
            return self.by_name.get(resource["provider"], f"name:{resource['provider']}")
        return f"default:{_package(resource['type'])}"

    def config(self, key: str) -> dict[str, Any] | None:
        """The provider's config (None when the plan does not have it)."""
        if key.startswith("default:"):
            package = key.removeprefix("default:")
            configured = self.document.get("providerConfig")
            if isinstance(configured, dict):
                return dict(configured.get(package) or {})
            if package == "aws" and self.document.get("region"):  # plans written before providerConfig
                return {"region": self.document["region"]}
            return None
        provider = self.by_urn.get(key)
        return dict(provider.get("inputs") or {}) if provider else None

    def label(self, key: str) -> str:
        """How the text names a provider: `default aws provider` or the provider resource's name."""
        if key.startswith("default:"):
            return f"the default {key.removeprefix('default:')} provider"
        provider = self.by_urn.get(key)
        return f"provider {provider['name'] if provider else key.removeprefix('name:')}"

    def provider_type(self, key: str, resource_type: str) -> str:
        provider = self.by_urn.get(key)
        return provider["type"] if provider else f"pulumi:providers:{_package(resource_type)}"


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def config_replaces(provider_type: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The provider config keys whose change replaces the provider (and so what it manages)."""
    rules = replace_table().get(provider_type, TypeRules()).rules
    keys = []
    for rule in rules:
        key = str(rule.path[0])
        if _text(old.get(key, "")) != _text(new.get(key, "")) and UNKNOWN_TEXT not in (old.get(key), new.get(key)):
            keys.append(key)
    return keys
