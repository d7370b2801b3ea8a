"""The component tree of a plan as a Mermaid diagram, which GitHub renders."""

from __future__ import annotations

import re
from typing import Any

from llmscale.plan.markdown.blocks import MAX_DIAGRAM_NODES, STACK_TYPE, _plural


def _node_id(name: str, used: set[str]) -> str:
    """A Mermaid-safe node id from a name: letters, digits and underscores, prefixed, unique."""
    base = "n_" + (re.sub(r"[^A-Za-z0-9_]", "_", name)[:48] or "x")
    candidate, suffix = base, 2
    while candidate in used:
        candidate, suffix = f"{base}_{suffix}", suffix + 1
    used.add(candidate)
    return candidate


_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;"}


def _label(*parts: str) -> str:
    """A quoted Mermaid label; `#`, quotes and angle brackets become entities so the label cannot break out."""
    safe = ["".join(_MERMAID_ENTITIES.get(char, char) for char in re.sub(r"\s+", " ", part)) for part in parts]
    return '["' + "<br/>".join(safe) + '"]'


def mermaid_tree(document: dict[str, Any], *, max_nodes: int = MAX_DIAGRAM_NODES) -> list[str]:
    """The stack's component tree as Mermaid `graph TD` lines (without the fence).

    Components are nodes; the cloud resources directly under a component are grouped by type (`3× aws:iam/
    role:Role`), a single one shown by name. When that is still more than `max_nodes` nodes, each component's
    resources collapse into one "N resources" node, and components past the limit into one "N more" node.
    """
    resources = document.get("resources") or []
    urns = {r["urn"] for r in resources}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for resource in resources:
        parent = resource.get("parentUrn") if resource.get("parentUrn") in urns else None
        children.setdefault(parent, []).append(resource)

    components: list[tuple[dict[str, Any], str | None]] = []  # (component, parent component urn)

    def walk(parent: str | None) -> None:
        for child in children.get(parent, []):
            if not child.get("custom", True):
                components.append((child, parent))
                walk(child["urn"])

    walk(None)
    groups: dict[str | None, list[tuple[str, list[dict[str, Any]]]]] = {}
    for parent in [None, *(c["urn"] for c, _ in components)]:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for child in children.get(parent, []):
            if child.get("custom", True):
                by_type.setdefault(child["type"], []).append(child)
        groups[parent] = list(by_type.items())

    collapse = 1 + len(components) + sum(len(g) for g in groups.values()) > max_nodes
    shown = components
    if collapse:
        # The root, its collapsed resources and a "more" node, then a component and its collapsed resources each.
        budget = max(1, (max_nodes - 3) // 2)
        shown = components[:budget]  # a prefix of a depth-first walk: every shown component's parent is shown
    shown_urns = {c["urn"] for c, _ in shown}
    hidden = [c["urn"] for c, _ in components if c["urn"] not in shown_urns]

    used: set[str] = set()
    stack = str(document.get("stack", ""))
    root = _node_id(f"stack_{stack}", used)
    names: dict[str | None, str] = {None: "stack"}
    lines = ["graph TD", f"  {root}{_label(f'llmscale-{stack}', STACK_TYPE)}"]
    edges: list[str] = []
    ids: dict[str | None, str] = {None: root}
    component_ids: list[str] = []
    for component, parent in shown:
        node = _node_id(component["name"], used)
        ids[component["urn"]] = node
        names[component["urn"]] = component["name"]
        component_ids.append(node)
        lines.append(f"  {node}{_label(component['name'], component['type'])}")
        edges.append(f"  {ids.get(parent if parent in shown_urns else None, root)} --> {node}")
    if hidden:
        node = _node_id("more_components", used)
        inside = sum(len(items) for urn in hidden for _, items in groups[urn])
        label = f"… {_plural(len(hidden), 'more component')} with {_plural(inside, 'resource')}"
        lines.append(f"  {node}{_label(label)}")
        edges.append(f"  {root} --> {node}")
    for parent, by_type in groups.items():
        if parent is not None and parent not in shown_urns:
            continue
        if collapse and by_type:
            count = sum(len(items) for _, items in by_type)
            node = _node_id(f"{names[parent]}_resources", used)
            lines.append(f"  {node}{_label(_plural(count, 'resource'))}")
            edges.append(f"  {ids[parent]} --> {node}")
            continue
        for kind, items in by_type:
            node = _node_id(f"{names[parent]}_{kind.rsplit(':', 1)[-1]}", used)
            label = _label(items[0]["name"], kind) if len(items) == 1 else _label(f"{len(items)}× {kind}")
            lines.append(f"  {node}{label}")
            edges.append(f"  {ids[parent]} --> {node}")
    lines += edges
    lines.append("  classDef component fill:#eef3fb,stroke:#4a6fa5")
    lines.append(f"  class {','.join([root, *component_ids])} component")
    return lines
