"""Plan output: the machine-readable document and the preview-like tree people read.

Both are built from redacted values only: secrets print as `[secret]`, values known only after apply as
`(known after apply)`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from llmscale.plan.recorder import REDACTED, UNKNOWN_TEXT, RecordedResource, redact
from llmscale.plan.runner import PlanResult, collector_paused
from llmscale.policy.pack import evaluate, inventory_from_plan
from llmscale.sizing.cost import money, stack_cost

STACK_TYPE = "pulumi:pulumi:Stack"
PLAN_FORMAT_VERSION = 1


def _urn_name(urn: str | None) -> str | None:
    return urn.rsplit("::", 1)[-1] if urn else None


def _urn_type(urn: str) -> str:
    return urn.split("::")[2].split("$")[-1]


def _provider_name(reference: str | None) -> str | None:
    """`urn:…::name::id` → the provider's resource name; None for the default provider."""
    if not reference:
        return None
    urn = reference.rsplit("::", 1)[0]
    name = _urn_name(urn)
    return None if name and name.startswith("default") else name


def _scrub(value: Any, secrets: list[str]) -> Any:
    """Replace any occurrence of a known secret value, wherever a program might have copied it."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    return value


def known_secret_values(result: PlanResult) -> list[str]:
    """The plaintext of every secret in the stack's config that the plan could see (never placeholders)."""
    config = result.stack.config
    values = [
        config.api_keys,
        config.hf_token,
        config.grafana_admin_password,
        config.slack_webhook_url,
        config.pagerduty_routing_key,
    ]
    plain = [v.get_secret_value() for v in values if v is not None and v.get_secret_value() != REDACTED]
    found: list[str] = []
    for text in plain:
        found.append(text)
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        if isinstance(parsed, dict):  # apiKeys as {"client": "key"}: each key is a secret on its own
            found.extend(str(v) for v in parsed.values() if str(v))
    # Longest first, so a whole value is replaced before any part of it.
    return sorted(set(found), key=len, reverse=True)


def _count_unknown(value: Any) -> int:
    if value == UNKNOWN_TEXT:
        return 1
    if isinstance(value, dict):
        return sum(_count_unknown(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_unknown(v) for v in value)
    return 0


def _resource_entry(resource: RecordedResource, secrets: list[str]) -> dict[str, Any]:
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": None if resource.parent and _urn_type(resource.parent) == STACK_TYPE else _urn_name(resource.parent),
        "parentUrn": resource.parent,
        "custom": resource.custom,
        "provider": _provider_name(resource.provider),
        "inputs": _scrub(redact(resource.inputs), secrets),
        "dependsOn": sorted({_urn_name(urn) for urn in resource.dependencies if urn}),
        "ignoreChanges": resource.ignore_changes,
        # For `llmscale diff`: which provider instance manages it (None: the default provider), which resources
        # each input reads from, and the program's own replaceOnChanges.
        "providerUrn": resource.provider.rsplit("::", 1)[0] if resource.provider else None,
        "propertyDependencies": resource.property_dependencies,
        "replaceOnChanges": resource.replace_on_changes,
    }


# The default providers' config a diff needs: what replaces the provider (and all it manages) when it changes
# (replacements/replace_on_change.json, `pulumi:providers:*`), and what decides whether a Kubernetes object is
# replaced. Nothing else: credentials (`aws:secretKey`, a kubeconfig's tokens) stay out of the plan.
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER_CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "aws": ("region",),
    "kubernetes": (
        "cluster",
        "clusterIdentifier",
        "context",
        "enableConfigMapMutable",
        "enableSecretMutable",
        "kubeconfig",
        "renderYamlToDirectory",
    ),
}
FINGERPRINTED = frozenset({"kubernetes:kubeconfig"})  # compared by digest: a kubeconfig may hold credentials


def provider_config(result: PlanResult, secrets: list[str]) -> dict[str, dict[str, str]]:
    """The stack's config for the default providers (`aws:region`, `kubernetes:context`, …), secrets redacted:
    a change to it can replace every resource those providers manage."""
    found: dict[str, dict[str, str]] = {}
    for namespace, names in PROVIDER_CONFIG_KEYS.items():
        for name in names:
            key = f"{namespace}:{name}"
            value = result.stack.pulumi_config.get(key)
            if value is None:
                continue
            if key in result.stack.secret_keys:
                shown = REDACTED
            elif key in FINGERPRINTED:
                shown = "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
            else:
                shown = _scrub(value, secrets)
            found.setdefault(namespace, {})[name] = shown
    return found


def _stable_order(resources: list[RecordedResource]) -> list[RecordedResource]:
    """Parents before children, siblings by type then name: registration order depends on async timing."""
    children: dict[str | None, list[RecordedResource]] = {}
    urns = {r.urn for r in resources}
    for resource in resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)
    ordered: list[RecordedResource] = []

    def walk(parent: str | None) -> None:
        for child in sorted(children.get(parent, []), key=lambda r: (r.type, r.name, r.urn)):
            ordered.append(child)
            walk(child.urn)

    walk(None)
    return ordered


def schema_errors(resources: list[dict[str, Any]]) -> list[str]:
    """Every Kubernetes object of the plan checked against its upstream schema (unknown fields rejected).

    Values known only after apply cannot be checked; objects holding one are checked as far as they are known.
    """
    from llmscale.k8s.schema import validate_object

    errors: list[str] = []
    for resource in resources:
        inputs = resource["inputs"]
        if resource["type"].startswith("kubernetes:") and "apiVersion" in inputs and "kind" in inputs:
            errors.extend(error for error in validate_object(_checkable(inputs)) if UNKNOWN_TEXT not in error)
    return errors


def runtime_errors(resources: list[dict[str, Any]], platform: str) -> list[str]:
    """What the running controllers would do wrong with the plan's Kubernetes objects (`llmscale.k8s.invariants`),
    checked per cluster: the objects and Helm releases deployed through one Kubernetes provider.

    On the cluster llmscale builds (platform aws) the gateway is fronted by llmscale's load balancer and there is
    no default StorageClass unless the stack creates one; an existing cluster is assumed to have one.
    """
    from llmscale.k8s.invariants import problems

    clusters: dict[str | None, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for resource in resources:
        inputs = resource["inputs"]
        if not resource["type"].startswith("kubernetes:") or not resource["custom"]:
            continue
        objects, releases = clusters.setdefault(resource.get("provider"), ([], []))
        if resource["type"] == HELM_RELEASE:
            releases.append(inputs)
        elif "apiVersion" in inputs and "kind" in inputs:
            objects.append(_checkable(inputs))
    aws = platform == "aws"
    errors: list[str] = []
    for objects, releases in clusters.values():
        found = problems(objects, releases, fronted=aws, cluster_has_default=not aws)
        errors.extend(error for error in found if error not in errors)
    return errors


def _checkable(value: Any) -> Any:
    """The object without redacted values, whose shape the plan cannot see."""
    if isinstance(value, dict):
        return {key: _checkable(item) for key, item in value.items() if item != REDACTED}
    if isinstance(value, list):
        return [_checkable(item) for item in value]
    return value


def plan_document(result: PlanResult) -> dict[str, Any]:
    """The plan as JSON-ready data: stack, tier, resources with redacted inputs, invokes, outputs, counts, and the
    monthly GPU cost (`llmscale.sizing.cost`)."""
    with collector_paused():  # the checks and the simulated day allocate much, in cycles almost never
        return _plan_document(result)


def _plan_document(result: PlanResult) -> dict[str, Any]:
    secrets = known_secret_values(result)
    resources = [_resource_entry(r, secrets) for r in _stable_order(result.resources)]
    invokes = sorted(
        ({"token": i.token, "args": _scrub(redact(i.args), secrets)} for i in result.invokes),
        key=lambda invoke: (invoke["token"], json.dumps(invoke["args"], sort_keys=True, default=str)),
    )
    config = result.stack.config
    return {
        "formatVersion": PLAN_FORMAT_VERSION,
        "stack": result.stack.name,
        "source": result.stack.source,
        "tier": str(config.tier),
        "platform": str(config.platform),
        "region": result.stack.region,
        "providerConfig": provider_config(result, secrets),
        "resources": resources,
        "invokes": invokes,
        "outputs": _scrub(redact(result.outputs), secrets),
        "counts": dict(sorted(Counter(r["type"] for r in resources).items())),
        "schemaErrors": schema_errors(resources),
        "runtimeErrors": runtime_errors(resources, str(config.platform)),
        "violations": [v.as_dict() for v in evaluate(inventory_from_plan({"resources": resources}))],
        "cost": stack_cost(config, result.stack.region).to_json(),
        "summary": {
            "resources": len(resources),
            "customResources": sum(1 for r in resources if r["custom"]),
            "components": sum(1 for r in resources if not r["custom"]),
            "unknownValues": sum(_count_unknown(r["inputs"]) for r in resources),
            "undecryptedSecrets": sorted(result.stack.undecryptable),
        },
    }


def cost_line(document: dict[str, Any]) -> str | None:
    """The plan's monthly GPU cost in one line, or None for a document without one (an older plan)."""
    cost = document.get("cost")
    if not cost:
        return None
    currency = cost.get("currency", "USD")
    if cost.get("monthlyAlwaysOn") is None or cost.get("monthlyWithSchedule") is None:
        return f"Monthly GPU cost: unknown ({cost.get('source', 'no price')})."
    return (
        f"Monthly GPU cost: {money(cost['monthlyAlwaysOn'], currency)} always on, "
        f"{money(cost['monthlyWithSchedule'], currency)} with the night schedule, at "
        f"{money(cost['pricePerGpuHour'], currency, cents=True)}/GPU-hour ({cost.get('source', '')})."
    )


def _tree_lines(resources: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    children: dict[str | None, list[dict[str, Any]]] = {}
    for resource in resources:
        children.setdefault(resource["parentUrn"], []).append(resource)
    known_urns = {r["urn"] for r in resources}
    roots = [r for r in resources if r["parentUrn"] not in known_urns]
    rows: list[tuple[str, str, str]] = []

    def walk(node: dict[str, Any], prefix: str, last: bool) -> None:
        branch = "└─ " if last else "├─ "
        rows.append((prefix + branch, node["type"], node["name"]))
        kids = children.get(node["urn"], [])
        for index, kid in enumerate(kids):
            walk(kid, prefix + ("   " if last else "│  "), index == len(kids) - 1)

    for index, root in enumerate(roots):
        walk(root, "", index == len(roots) - 1)
    return rows


def render_text(document: dict[str, Any], *, details: bool = False) -> str:
    """A preview-like tree of what `pulumi up` would create, then counts by type, outputs and invokes."""
    lines = [
        f"Plan for stack {document['stack']} (tier {document['tier']}, platform {document['platform']}"
        + (f", region {document['region']}" if document["region"] else "")
        + f") from {document['source']}",
        "",
    ]
    rows = [("", STACK_TYPE, f"llmscale-{document['stack']}"), *_tree_lines(document["resources"])]
    width = max(len(prefix + kind) for prefix, kind, _ in rows) + 2
    lines.append(f"     {'Type'.ljust(width)}Name")
    by_key = {(r["type"], r["name"]): r for r in document["resources"]}
    for prefix, kind, name in rows:
        lines.append(f" +   {(prefix + kind).ljust(width)}{name}")
        if details and (kind, name) in by_key:
            for key, value in sorted(by_key[kind, name]["inputs"].items()):
                text = str(value)
                if len(text) > 160:
                    text = text[:157] + "..."
                lines.append(f"     {' ' * len(prefix)}    {key}: {text}")
    lines += ["", "Resources by type:"]
    lines += [f"  {count:>4}  {kind}" for kind, count in document["counts"].items()]
    if document["outputs"]:
        lines += ["", "Outputs:"]
        lines += [f"  {name}: {value}" for name, value in document["outputs"].items()]
    if document["invokes"]:
        lines += ["", "Looked up at deploy time:"]
        lines += [f"  {invoke['token']} {invoke['args']}" for invoke in document["invokes"]]
    if document["violations"]:
        lines += ["", f"Policy violations ({len(document['violations'])}):"]
        for violation in document["violations"]:
            where = f" [{violation['resource']}]" if violation["resource"] else ""
            lines.append(f"  {violation['enforcement']:<9} {violation['policy']}{where}: {violation['message']}")
    if document["schemaErrors"]:
        lines += ["", f"Schema errors ({len(document['schemaErrors'])}):"]
        lines += [f"  {error}" for error in document["schemaErrors"]]
    runtime = document.get("runtimeErrors") or []
    if runtime:
        lines += ["", f"Run-time problems ({len(runtime)}): what the controllers would do with these objects"]
        lines += [f"  {error}" for error in runtime]
    summary = document["summary"]
    lines += [
        "",
        f"{summary['resources']} resources to create ({summary['customResources']} cloud resources, "
        f"{summary['components']} components); {summary['unknownValues']} input values known only after apply.",
    ]
    cost = cost_line(document)
    if cost:
        lines.append(cost)
    if summary["undecryptedSecrets"]:
        lines.append(
            f"Encrypted config not decrypted offline (shown as {REDACTED}): {', '.join(summary['undecryptedSecrets'])}"
        )
    return "\n".join(lines)
