"""How actions spread: a replaced resource's unknown outputs change every input that reads them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmscale.plan.diff.changes import _forcing, condition_holds, value_at
from llmscale.plan.diff.model import (
    CREATE,
    DELETE,
    POSSIBLY_REPLACE,
    RANK,
    REPLACE,
    UNCHANGED,
    UPDATE,
    PropertyChange,
    PropertyPath,
)
from llmscale.plan.diff.providers import Providers, config_replaces
from llmscale.plan.diff.replace_table import rules_for
from llmscale.plan.diff.values import normalize, overlaps, parse_path, starts_with
from llmscale.plan.recorder import UNKNOWN_TEXT


@dataclass
class State:
    """What the diff has decided about one resource of the new plan so far.

    `links` are what it follows: (input or `(provider)`, the replaced resource it reads, the level that gives);
    `via` the first of them, for the chains printed once everything is settled.
    """

    resource: dict[str, Any]
    action: str
    changes: list[PropertyChange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)
    via: str | None = None
    via_rank: int = -1

    def raise_to(self, action: str) -> None:
        if RANK[action] > RANK[self.action]:
            self.action = action

    def follows(self, label: str) -> bool:
        return any(link[0] == label for link in self.links)


def direct_action(changes: list[PropertyChange]) -> str:
    if any(c.forces_replacement and not c.maybe for c in changes):
        return REPLACE
    if any(c.forces_replacement for c in changes):
        return POSSIBLY_REPLACE
    return UPDATE if changes else UNCHANGED


def _short(state: State) -> str:
    """`replace: cidrBlock` — a resource's action and what forces it (for an update, what changes), for chains."""
    forcing = [c.path for c in state.changes if c.forces_replacement]
    forcing += [label for label, _, level in state.links if level in (REPLACE, POSSIBLY_REPLACE)]
    if not forcing and state.action == UPDATE:
        forcing = [c.path for c in state.changes] + [label for label, _, _ in state.links]
    forcing = list(dict.fromkeys(forcing))
    shown = ", ".join(forcing[:3]) + (", …" if len(forcing) > 3 else "")
    return f"{state.action}: {shown}" if shown else state.action


def _display_name(states: dict[str, State], urn: str) -> str:
    """The resource's name, with its type when another resource of the plan has the same name."""
    resource = states[urn].resource
    twins = sum(1 for state in states.values() if state.resource["name"] == resource["name"])
    return resource["name"] if twins == 1 else f"{resource['name']} [{resource['type'].rsplit(':', 1)[-1]}]"


def _chain(states: dict[str, State], urn: str) -> str:
    """`b ← c (replace: cidrBlock)`: the resources a change comes through, ending with the first cause."""
    names: list[str] = []
    seen: set[str] = set()
    current: str | None = urn
    last = urn
    while current and current in states and current not in seen and len(names) < 8:
        seen.add(current)
        names.append(_display_name(states, current))
        last = current
        current = states[current].via
    return f"{' ← '.join(names)} ({_short(states[last])})"


def _unknown_paths(value: Any, path: PropertyPath) -> list[PropertyPath]:
    """The paths under `path` whose value is known only after apply."""
    if value == UNKNOWN_TEXT:
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _unknown_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _unknown_paths(item, (*path, index))]
    return []


def _renewed_outputs(state: State) -> list[str]:
    """The outputs an in-place update of `state` computes anew (its type's RecomputedOutput rules): what reads
    them changes too. Empty unless the resource is updated."""
    recomputed = rules_for(state.resource).recomputed
    if state.action != UPDATE or not recomputed:
        return []
    changed = {str(parse_path(c.path)[0]) for c in state.changes if not c.path.startswith("(")}
    changed |= {label for label, _, _ in state.links if not label.startswith("(")}
    inputs = normalize(state.resource.get("inputs") or {})
    renewed = []
    for output in recomputed:
        if output.unless_only is not None and changed <= output.unless_only:
            continue
        if output.when and all(condition_holds(w, inputs, None, None, None) is False for w in output.when):
            continue
        renewed.append(output.output)
    return renewed


def _link(state: State, label: str, source: str, level: str) -> None:
    """Record that `state` follows `source` through `label`; the strongest link is the one chains go through."""
    state.links.append((label, source, level))
    state.raise_to(level)
    if RANK[level] > state.via_rank:
        state.via, state.via_rank = source, RANK[level]


def _follow_inputs(states: dict[str, State], state: State, providers: Providers, renewals: bool = False) -> bool:
    """Inputs of `state` that read a replaced resource: possibly replaced if one forces replacement, else updated.

    Only the parts of the input known after apply change: a replaced subnet changes the ids in `subnetIds`, not a
    Deployment's selector that happens to sit in the same `spec` as an unknown image. With `renewals`, inputs
    that read a resource whose update renews an output change as well: in place, since the resource keeps its id,
    unless every unknown part of the input forces replacement (then it may be the renewed output that is read
    there): a node group reading a launch template's id and new `latestVersion` is updated, not replaced.
    """
    resource = state.resource
    inputs = normalize(resource.get("inputs") or {})
    ignore = [parse_path(p) for p in resource.get("ignoreChanges") or [] if isinstance(p, str)]
    rules = rules_for(resource)
    key = providers.key(resource)
    config = providers.config(key) if key else None
    progress = False
    for prop, urns in sorted((resource.get("propertyDependencies") or {}).items()):
        if state.follows(prop) or any(re.match(rf"{re.escape(prop)}($|[.\[])", c.path) for c in state.changes):
            continue
        sources = sorted(
            (u for u in urns if u in states and states[u].action in (REPLACE, POSSIBLY_REPLACE)),
            key=lambda u: (-RANK[states[u].action], states[u].resource["name"]),
        )
        unknown = [
            path
            for path in _unknown_paths(value_at(inputs, (prop,)), (prop,))
            if not any(starts_with(path, prefix) for prefix in ignore)
        ]
        if not sources and renewals and unknown and state.action != REPLACE:
            renewing = sorted(
                (u for u in urns if u in states and _renewed_outputs(states[u])),
                key=lambda u: states[u].resource["name"],
            )
            if renewing:
                forced = [_forcing(rules, path, inputs, config, UNKNOWN_TEXT, UNKNOWN_TEXT)[0] for path in unknown]
                _link(state, prop, renewing[0], POSSIBLY_REPLACE if False not in forced else UPDATE)
                progress = True
            continue
        if not sources or not unknown:
            continue
        certain_source = states[sources[0]].action == REPLACE
        level = UPDATE
        for path in unknown:
            if any(r.unknown_replaces and overlaps(path, r.path) for r in rules.rules):
                level = REPLACE if certain_source else POSSIBLY_REPLACE
                break
            forces, _ = _forcing(rules, path, inputs, config, UNKNOWN_TEXT, UNKNOWN_TEXT)
            if forces is not False:
                level = POSSIBLY_REPLACE
        if state.action == REPLACE and level != REPLACE:
            # Replaced anyway. The link still shows in its dependants' chains (node group ← subnet ← VPC), unless
            # the resource's provider is what replaces it: that is the first cause.
            provider_moved = any(c.path.startswith("(provider)") and c.forces_replacement for c in state.changes)
            if level != UPDATE and not provider_moved and state.via is None:
                state.via, state.via_rank = sources[0], RANK[level]
            continue
        _link(state, prop, sources[0], level)
        progress = True
    return progress


def cascade(states: dict[str, State], providers: Providers) -> None:
    """Spread replacements until nothing changes: inputs that read a replaced resource, and resources whose
    provider is replaced (pulumi/pulumi step_generator.go `providerChanged`: a replaced provider replaces them).
    Then the same with outputs renewed by updates in place, once every replacement is known (a resource found
    replaced later would have renewed nothing)."""
    for renewals in (False, True):
        progress = True
        while progress:
            progress = False
            for state in states.values():
                resource = state.resource
                if state.action in (CREATE, DELETE) or not resource.get("custom", True):
                    continue
                key = providers.key(resource)
                provider = states.get(key) if key else None
                replaced = provider is not None and provider.action in (REPLACE, POSSIBLY_REPLACE)
                if replaced and key and not state.follows("(provider)"):
                    _link(state, "(provider)", key, provider.action)  # first: the provider is the first cause
                    progress = True
                progress |= _follow_inputs(states, state, providers, renewals)


def settle(states: dict[str, State], providers: Providers) -> None:
    """Turn each state's links into property changes and reasons, now that every chain is known."""
    for state in states.values():
        in_place = [c for c in state.changes if not c.forces_replacement]
        # What forces (or may force) replacement first: that is why the resource is listed where it is.
        ordered = sorted(state.links, key=lambda link: link[2] not in (REPLACE, POSSIBLY_REPLACE))
        for label, source, level in ordered:
            chain = _chain(states, source)
            forces = level in (REPLACE, POSSIBLY_REPLACE)
            if label == "(provider)":
                name = states[source].resource["name"]
                note = f"{providers.label(source)} is replaced: {chain}"
                state.changes.append(
                    PropertyChange(label, "update", name, name, forces, note, possibly=level == POSSIBLY_REPLACE)
                )
                state.reasons.append(f"(provider) ← {chain}")
                continue
            note = f"known after apply; reads {chain}"
            renewed = _renewed_outputs(states[source])
            if renewed:
                note += f"; the update gives {_display_name(states, source)} a new {', '.join(renewed)}"
            state.changes.append(
                PropertyChange(label, "update", UNKNOWN_TEXT, UNKNOWN_TEXT, forces, note, possibly=level != REPLACE)
            )
            state.reasons.append(f"{label} ← {chain}")
        if in_place and state.action != UNCHANGED:
            paths = ", ".join(dict.fromkeys(c.path for c in in_place))
            state.reasons.append(f"{'updated in place' if state.action == UPDATE else 'also changes'}: {paths}")
            state.reasons += [f"{c.path}: {c.note}" for c in in_place if c.note and c.kind == "update"]


def _provider_changes(
    old: dict[str, Any], new: dict[str, Any], old_providers: Providers, new_providers: Providers
) -> tuple[list[PropertyChange], list[str]]:
    """How a resource's provider changed: the default provider's config, or a move to another provider."""
    old_key, new_key = old_providers.key(old), new_providers.key(new)
    if old_key is None or new_key is None:
        return [], []
    old_config, new_config = old_providers.config(old_key), new_providers.config(new_key)
    provider_type = new_providers.provider_type(new_key, new["type"])
    if old_key == new_key and not new_key.startswith("default:"):
        return [], []  # an explicit provider: its own diff (and the cascade) decides
    label = new_providers.label(new_key)
    if old_key == new_key:
        if old_config is None or new_config is None:
            return [], []
        keys = config_replaces(provider_type, old_config, new_config)
        changes = [
            PropertyChange(
                f"(provider).{key}",
                "update",
                old_config.get(key),
                new_config.get(key),
                True,
                f"{label} is replaced, and with it every resource it manages",
            )
            for key in keys
        ]
        return changes, [f"{label} is replaced: {key} {old_config.get(key)} → {new_config.get(key)}" for key in keys]
    old_name = old.get("provider") or old_providers.label(old_key)
    new_name = new.get("provider") or label
    if old_config is None or new_config is None:
        note = f"moved to {label}, whose config the plans do not hold: replaced if it points elsewhere"
        return [PropertyChange("(provider)", "update", old_name, new_name, True, note, possibly=True)], [note]
    keys = config_replaces(provider_type, old_config, new_config)
    if keys:
        note = f"moved to {label}, whose {', '.join(keys)} differs: replaced"
        return [PropertyChange("(provider)", "update", old_name, new_name, True, note)], [note]
    note = f"moved to {label}, whose config forces no replacement"
    return [PropertyChange("(provider)", "update", old_name, new_name, False, note)], []
