"""Kubernetes manifests from an offline plan, as files `kubectl apply -f DIR` accepts, one folder per cluster.

The plan already holds every object the program would create, with secrets redacted. Objects are grouped by
the Kubernetes provider that would create them, that is by cluster: a stack with a warm standby region gets
`primary/` and `standby/`, a single cluster gets its files at the top of the output directory. Each cluster's
folder holds one YAML file per object, numbered so that namespaces and cluster-wide objects come first;
`addons.sh`, the add-ons' Helm commands, which first checks that the kube context points at that cluster and
then pins every call to it; and `SECRETS.txt`, the commands that create the cluster's Secrets. Secrets are not
written as manifests: an applied Secret without its data would empty the one the user created.

`STEPS.txt` at the top says the order that works, cluster by cluster: add-ons (they bring the CRDs), namespaces,
secrets, then everything else.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

import yaml

from llmscale.host.bundle import BundleFile
from llmscale.k8s.labels import SITE_LABEL

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_PROVIDER = "pulumi:providers:kubernetes"
AWS_PROVIDER = "pulumi:providers:aws"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
ORDER = {
    "Namespace": 0,
    "PriorityClass": 1,
    "GatewayClass": 1,
    "ServiceAccount": 2,
    "PersistentVolumeClaim": 2,
    "NetworkPolicy": 2,
}
SECRET_KEYS = {"hf-token": "token=hf_..."}


@dataclass(frozen=True)
class Cluster:
    """One cluster a plan deploys to: its site, how to recognise its kube context, and its folder."""

    site: str  # primary or standby
    provider: str | None  # the Kubernetes provider's resource name in the plan
    eks_name: str | None = None  # EKS cluster name (platform aws)
    region: str | None = None
    context: str | None = None  # the stack's kubernetes.context (platform kubernetes)
    folder: str = ""  # "" (single cluster) or "primary/", "standby/"

    def describe(self) -> str:
        """`EKS cluster acme in eu-west-1`, `kube context onprem`, or `the cluster of the current kube context`."""
        if self.eks_name:
            return f"EKS cluster {self.eks_name} in {self.region or 'the stack region'}"
        if self.context:
            return f"kube context {self.context}"
        return "kube context CONTEXT, yours (the stack names none)"

    def context_hint(self) -> str:
        """The kube context the steps use: the stack's, the alias `kubeconfig_command` gives an EKS cluster, or a
        placeholder for the user's own."""
        if self.context:
            return self.context
        if self.eks_name:
            return self.eks_name
        return "CONTEXT"

    def kubeconfig_command(self) -> str | None:
        """For an EKS cluster: the command that writes its kube context, named after the cluster."""
        if not self.eks_name:
            return None
        return f"aws eks update-kubeconfig --region {self.region} --name {self.eks_name} --alias {self.eks_name}"


def _is_object(resource: dict[str, Any]) -> bool:
    return (
        resource["custom"]
        and resource["type"].startswith("kubernetes:")
        and resource["type"] != HELM_RELEASE
        and "kind" in resource["inputs"]
    )


ALL_PROVIDERS = "*"


def kubernetes_objects(document: dict[str, Any], provider: str | None = ALL_PROVIDERS) -> list[dict[str, Any]]:
    """The Kubernetes objects of a plan document (no providers, no Helm releases), in apply order.

    `provider` limits them to one cluster's provider (None: objects on the default provider); by default all.
    """
    objects = [
        r["inputs"]
        for r in document["resources"]
        if _is_object(r) and (provider == ALL_PROVIDERS or r.get("provider") == provider)
    ]
    return sorted(objects, key=lambda o: (ORDER.get(o["kind"], 3), o["kind"], o["metadata"].get("name", "")))


def clusters(document: dict[str, Any]) -> list[Cluster]:
    """The clusters the plan deploys to, primary first; their folders are set when there is more than one."""
    resources = document["resources"]
    by_name = {(r["type"], r["name"]): r for r in resources}
    used = list(dict.fromkeys(r.get("provider") for r in resources if _is_object(r) or r["type"] == HELM_RELEASE))
    found: list[Cluster] = []
    for provider in used:
        entry = by_name.get((K8S_PROVIDER, provider)) if provider else None
        inputs = (entry or {}).get("inputs") or {}
        eks = next(
            (r for r in resources if r["type"] == EKS_CLUSTER and entry and r.get("parent") == entry.get("parent")),
            None,
        )
        region = document.get("region")
        if eks is not None and eks.get("provider"):
            region = ((by_name.get((AWS_PROVIDER, eks["provider"])) or {}).get("inputs") or {}).get("region", region)
        sites = {
            ((obj.get("metadata") or {}).get("labels") or {}).get(SITE_LABEL)
            for obj in kubernetes_objects(document, provider)
        }
        site = "standby" if "standby" in sites else "primary"
        context = inputs.get("context") if isinstance(inputs.get("context"), str) else None
        found.append(
            Cluster(
                site=site,
                provider=provider,
                eks_name=str(eks["inputs"].get("name")) if eks is not None else None,
                region=region if eks is not None else None,
                context=context,
            )
        )
    found.sort(key=lambda cluster: cluster.site != "primary")
    if len(found) > 1:
        found = [Cluster(c.site, c.provider, c.eks_name, c.region, c.context, folder=f"{c.site}/") for c in found]
    return found


def _context_guard(cluster: Cluster) -> list[str]:
    """Shell lines that set `context` and refuse to go on when it does not point at `cluster`."""
    lines = [
        'if [ "$#" -gt 1 ]; then echo "usage: $0 [KUBE_CONTEXT]" >&2; exit 2; fi',
    ]
    if cluster.context:
        expected = shlex.quote(cluster.context)
        lines += [
            f'context="${{1:-{cluster.context}}}"',
            f'if [ "$context" != {expected} ]; then',
            f'  echo "addons.sh: this is for kube context {cluster.context} (kubernetes.context), not $context" >&2',
            "  exit 2",
            "fi",
        ]
    elif cluster.eks_name:
        region = cluster.region or "*"
        lines += [
            'context="${1:-$(kubectl config current-context)}"',
            'cluster="$(kubectl config view --minify --context "$context" -o jsonpath=\'{.clusters[0].name}\')"',
            'case "$cluster" in',
            f"  arn:aws:eks:{region}:*:cluster/{cluster.eks_name} | {cluster.eks_name}.{region}.eksctl.io) ;;",
            "  *)",
            f'    echo "addons.sh: kube context $context points at ${{cluster:-no cluster}}, not {cluster.describe()};'
            f' run: {cluster.kubeconfig_command()}" >&2',
            "    exit 2",
            "    ;;",
            "esac",
        ]
    else:
        lines += [
            'if [ "$#" -ne 1 ]; then',
            '  echo "addons.sh: name the kube context of the cluster to install into: $0 KUBE_CONTEXT" >&2',
            "  exit 2",
            "fi",
            'context="$1"',
        ]
    return lines


def _usage(cluster: Cluster) -> str:
    if cluster.context:
        return f"[KUBE_CONTEXT] (default {cluster.context}, the stack's kubernetes.context)"
    if cluster.eks_name:
        return "[KUBE_CONTEXT] (default: the current context)"
    return "KUBE_CONTEXT"


def _helm_script(document: dict[str, Any], cluster: Cluster, crd_files: list[str] | None = None) -> str:
    lines = [
        "#!/usr/bin/env bash",
        f"# Cluster add-ons of the {cluster.site} cluster ({cluster.describe()}), at the versions llmscale pins.",
        f"# Usage: addons.sh {_usage(cluster)}. It refuses a context that points at another cluster,",
        "# and passes the context to every Helm call.",
        "set -euo pipefail",
        *_context_guard(cluster),
        'echo "installing the add-ons into $context" >&2',
    ]
    if crd_files:
        # CRDs an add-on must find when it starts (Envoy Gateway watches the InferencePool kind it is configured
        # with, and fails to start without it): applied before any chart. Server-side: they exceed the
        # last-applied annotation's size limit.
        lines += ["", 'here="$(cd "$(dirname "$0")" && pwd)"']
        lines += [f'kubectl --context "$context" apply --server-side -f "$here/{name}"' for name in crd_files]
    releases = [r for r in document["resources"] if r["type"] == HELM_RELEASE and r.get("provider") == cluster.provider]
    for resource in _dependencies_first(releases):
        inputs = resource["inputs"]
        repo = (inputs.get("repositoryOpts") or {}).get("repo")
        chart = inputs["chart"]
        values = yaml.safe_dump(inputs.get("values") or {}, sort_keys=True).strip()
        source = f"{chart} --repo {repo}" if repo else chart
        lines += [
            "",
            f"helm upgrade --install {inputs['name']} {source} --version {inputs['version']} \\",
            f'  --kube-context "$context" --namespace {inputs["namespace"]} --create-namespace --wait '
            "--values - <<'VALUES'",
            values if values != "{}" else "{}",
            "VALUES",
        ]
    return "\n".join(lines) + "\n"


def _dependencies_first(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources in plan order, except that each comes after those of the list it depends on."""
    pending = list(resources)
    names = {r["name"] for r in resources}
    done: set[str] = set()
    ordered: list[dict[str, Any]] = []
    while pending:
        ready = next(
            (r for r in pending if not (set(r.get("dependsOn") or ()) & names) - done),
            pending[0],  # a cycle cannot come from Pulumi's dependency graph; keep plan order if it did
        )
        pending.remove(ready)
        done.add(ready["name"])
        ordered.append(ready)
    return ordered


def _secret_lines(objects: list[dict[str, Any]], cluster: Cluster) -> list[str]:
    context = shlex.quote(cluster.context_hint())
    seen: list[str] = []
    for manifest in objects:
        metadata = manifest["metadata"]
        namespace = metadata.get("namespace", "default")
        if manifest["kind"] == "Secret":
            name = metadata["name"]
            literal = SECRET_KEYS.get(name, "CLIENT=KEY [--from-literal=CLIENT=KEY ...]")
            line = f"kubectl --context {context} -n {namespace} create secret generic {name} --from-literal={literal}"
        elif manifest["kind"] == "Gateway":
            for listener in (manifest.get("spec") or {}).get("listeners") or []:
                for ref in (listener.get("tls") or {}).get("certificateRefs") or []:
                    line = (
                        f"kubectl --context {context} -n {namespace} create secret tls {ref['name']} "
                        "--cert=fullchain.pem --key=privkey.pem"
                    )
                    if line not in seen:
                        seen.append(line)
            continue
        else:
            continue
        if line not in seen:
            seen.append(line)
    return seen


def _context_note(cluster: Cluster) -> str:
    if cluster.eks_name:
        return f"The context {cluster.context_hint()} is the one `{cluster.kubeconfig_command()}` writes."
    if cluster.context:
        return f"The context {cluster.context} is the stack's kubernetes.context."
    return "CONTEXT is the kube context of your cluster (the stack names none)."


def render_kubernetes(document: dict[str, Any]) -> list[BundleFile]:
    """Per cluster: one YAML file per object (no Secrets), `addons.sh` and `SECRETS.txt`; then `STEPS.txt`."""
    files: list[BundleFile] = []
    found = clusters(document)
    for cluster in found:
        objects = kubernetes_objects(document, cluster.provider)
        index = 0
        crd_files: list[str] = []
        for manifest in objects:
            if manifest["kind"] == "Secret":
                continue
            name = manifest["metadata"]["name"]
            file_name = f"{index:02d}-{manifest['kind'].lower()}-{name}.yaml"
            files.append(BundleFile(f"{cluster.folder}{file_name}", yaml.safe_dump(manifest, sort_keys=False)))
            if manifest["kind"] == "CustomResourceDefinition":
                crd_files.append(file_name)
            index += 1
        files.append(BundleFile(f"{cluster.folder}addons.sh", _helm_script(document, cluster, crd_files), 0o755))
        note = [
            f"Secrets of the {cluster.site} cluster ({cluster.describe()}).",
            "Create them after its namespaces and before its workloads (see STEPS.txt), with values from your "
            "secret store, never from a file in git.",
            _context_note(cluster),
            "",
            *_secret_lines(objects, cluster),
        ]
        files.append(BundleFile(f"{cluster.folder}SECRETS.txt", "\n".join(note) + "\n"))
    files.append(BundleFile("STEPS.txt", "\n".join(steps(document, found, files)) + "\n"))
    return files


def steps(document: dict[str, Any], found: list[Cluster], files: list[BundleFile]) -> list[str]:
    """The order that works, per cluster: add-ons (and their CRDs), namespaces, secrets, the rest."""
    lines = [f"Deploying stack {document.get('stack', '?')} from these files, cluster by cluster:"]
    for cluster in found:
        context = shlex.quote(cluster.context_hint())
        namespaces = [
            f.path
            for f in files
            if f.path.startswith(cluster.folder) and f.path[len(cluster.folder) :].split("-", 2)[1:2] == ["namespace"]
        ]
        folder = cluster.folder or "."
        apply_namespaces = " ".join(f"-f {path}" for path in namespaces)
        where = (
            f"{cluster.describe()}, kube context {cluster.context_hint()}" if cluster.eks_name else cluster.describe()
        )
        lines += ["", f"{cluster.site} cluster: {where}:"]
        if cluster.kubeconfig_command():
            lines.append(f"  0. {cluster.kubeconfig_command()}    (once the cluster exists: its kube context)")
        lines += [
            f"  1. {cluster.folder}addons.sh {context}    the add-ons and their CRDs (it checks the context)",
            f"  2. kubectl --context {context} apply {apply_namespaces}    the namespaces",
            f"  3. the kubectl commands in {cluster.folder}SECRETS.txt    the secrets, into those namespaces",
            f"  4. kubectl --context {context} apply -f {folder}    everything else",
        ]
    return lines


def steps_summary(files: list[BundleFile]) -> str:
    """The printed steps: STEPS.txt's content."""
    return next(f.content for f in files if f.path == "STEPS.txt").rstrip("\n")
