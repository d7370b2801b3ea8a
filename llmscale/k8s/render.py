"""Kubernetes manifests from an offline plan, as files `kubectl apply -f DIR` accepts.

The plan already holds every object the program would create, with secrets redacted; this writes one YAML
file per object, numbered so that namespaces and cluster-wide objects come first, plus a script with the
add-ons' Helm commands and a note on the secrets to create by hand.
"""

from __future__ import annotations

from typing import Any

import yaml

from llmscale.host_bundle import BundleFile

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
ORDER = {
    "Namespace": 0,
    "PriorityClass": 1,
    "GatewayClass": 1,
    "ServiceAccount": 2,
    "Secret": 2,
    "PersistentVolumeClaim": 2,
    "NetworkPolicy": 2,
}
STRIP = ("stringData", "data")


def kubernetes_objects(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The Kubernetes objects of a plan document (no providers, no Helm releases), in apply order."""
    objects = [
        r["inputs"]
        for r in document["resources"]
        if r["custom"] and r["type"].startswith("kubernetes:") and r["type"] != HELM_RELEASE and "kind" in r["inputs"]
    ]
    return sorted(objects, key=lambda o: (ORDER.get(o["kind"], 3), o["kind"], o["metadata"].get("name", "")))


def _helm_script(document: dict[str, Any]) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "# Cluster add-ons of this stack, at the versions llmscale pins.",
        "set -euo pipefail",
    ]
    for resource in document["resources"]:
        if resource["type"] != HELM_RELEASE:
            continue
        inputs = resource["inputs"]
        repo = (inputs.get("repositoryOpts") or {}).get("repo")
        chart = inputs["chart"]
        values = yaml.safe_dump(inputs.get("values") or {}, sort_keys=True).strip()
        source = f"{chart} --repo {repo}" if repo else chart
        lines += [
            "",
            f"helm upgrade --install {inputs['name']} {source} --version {inputs['version']} \\",
            f"  --namespace {inputs['namespace']} --create-namespace --wait --values - <<'VALUES'",
            values if values != "{}" else "{}",
            "VALUES",
        ]
    return "\n".join(lines) + "\n"


def render_kubernetes(document: dict[str, Any]) -> list[BundleFile]:
    """One YAML file per object (secret data removed), `addons.sh` and `SECRETS.txt`."""
    files: list[BundleFile] = []
    secrets: list[str] = []
    for index, manifest in enumerate(kubernetes_objects(document)):
        manifest = dict(manifest)
        if manifest["kind"] == "Secret":
            secrets.append(f"{manifest['metadata'].get('namespace', 'default')}/{manifest['metadata']['name']}")
            for key in STRIP:
                manifest.pop(key, None)
        name = manifest["metadata"]["name"]
        files.append(
            BundleFile(f"{index:02d}-{manifest['kind'].lower()}-{name}.yaml", yaml.safe_dump(manifest, sort_keys=False))
        )
    files.append(BundleFile("addons.sh", _helm_script(document), 0o755))
    note = [
        "These Secrets are written without their data: fill them from your secret store, never from a file in git.",
        "",
    ]
    for secret in secrets:
        namespace, name = secret.split("/", 1)
        if name == "hf-token":
            note.append(f"kubectl -n {namespace} create secret generic {name} --from-literal=token=hf_...")
        else:
            note.append(f"kubectl -n {namespace} create secret generic {name} --from-literal=CLIENT=KEY [...]")
    files.append(BundleFile("SECRETS.txt", "\n".join(note) + "\n"))
    return files
