"""Read vLLM servers, scalers and routes out of an inventory, whichever platform built them.

A vLLM server is a Kubernetes Deployment's `vllm` container, or the `vllm` service of the single host's
docker compose file: one of the bundle's S3 objects (`bundle/docker-compose.yml`), or a file written by an
instance's cloud-init user data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from llmscale.host.bundle import BUNDLE_PREFIX, INSTALL_DIR, user_data_files
from llmscale.policy.model import Inventory, Record
from llmscale.serving import metrics

INSTANCE = "aws:ec2/instance:Instance"
BUNDLE_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


@dataclass(frozen=True)
class VllmServer:
    """One vLLM server definition: where it comes from, its image, arguments and health checks."""

    resource: str
    image: str
    args: list[str]
    urn: str | None = None
    probes: frozenset[str] = frozenset()
    labels: dict[str, str] = field(default_factory=dict)

    def flag(self, name: str) -> str | None:
        """The value of `--name VALUE` or `--name=VALUE`, or None when the flag is absent."""
        for index, arg in enumerate(self.args):
            if arg == name:
                return self.args[index + 1] if index + 1 < len(self.args) else ""
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
        return None


def host_files(record: Record) -> dict[str, str]:
    """The files an instance's cloud-init user data writes, by path (empty when it has none)."""
    user_data = record.props.get("userData")
    if not isinstance(user_data, str) or not user_data.startswith("#cloud-config"):
        return {}
    try:
        return user_data_files(user_data)
    except (yaml.YAMLError, AttributeError, KeyError, ValueError, OSError):
        return {}


@dataclass(frozen=True)
class HostBundle:
    """A single host's bundle: the record findings point at and its files by absolute path on the host."""

    record: Record
    files: dict[str, str]

    @property
    def compose(self) -> dict[str, Any] | None:
        """The docker compose document of the bundle, or None when it has none (or it does not parse)."""
        for path, content in self.files.items():
            if path.endswith("docker-compose.yml"):
                try:
                    document = yaml.safe_load(content)
                except yaml.YAMLError:
                    return None
                return document if isinstance(document, dict) else None
        return None


def host_bundles(inventory: Inventory) -> list[HostBundle]:
    """Every single host's bundle: the S3 objects of one bundle store (grouped by their parent component;
    findings point at its compose file), and the files of each instance's user data."""
    stores: dict[str | None, dict[str, Record]] = {}
    for record in inventory.of_type(BUNDLE_OBJECT):
        key, content = record.props.get("key"), record.props.get("content")
        if isinstance(key, str) and key.startswith(f"{BUNDLE_PREFIX}/") and isinstance(content, str):
            stores.setdefault(record.parent, {})[f"{INSTALL_DIR}/{key.removeprefix(BUNDLE_PREFIX + '/')}"] = record
    bundles = []
    for records in stores.values():
        anchor = next((r for path, r in records.items() if path.endswith("docker-compose.yml")), None)
        files = {path: str(r.props["content"]) for path, r in records.items()}
        bundles.append(HostBundle(anchor or next(iter(records.values())), files))
    for record in inventory.of_type(INSTANCE):
        files = host_files(record)
        if files:
            bundles.append(HostBundle(record, files))
    return bundles


def compose_files(inventory: Inventory) -> Iterator[tuple[Record, dict[str, Any]]]:
    """Each single host's docker compose document, with the record it comes from."""
    for bundle in host_bundles(inventory):
        compose = bundle.compose
        if compose is not None:
            yield bundle.record, compose


def _deployment_servers(record: Record) -> Iterator[VllmServer]:
    template = (record.props.get("spec") or {}).get("template") or {}
    pod = template.get("spec") or {}
    for container in pod.get("containers") or []:
        image = str(container.get("image", ""))
        if container.get("name") != "vllm" and "vllm" not in image:
            continue
        probes = frozenset(p for p in ("startupProbe", "readinessProbe", "livenessProbe") if container.get(p))
        yield VllmServer(
            resource=record.name,
            urn=record.urn,
            image=image,
            args=[str(a) for a in container.get("args") or []],
            probes=probes,
            labels=dict((template.get("metadata") or {}).get("labels") or {}),
        )


def vllm_deployments(inventory: Inventory) -> Iterator[Record]:
    """The Deployments that run vLLM: a model profile's replicas, not the pods beside them (endpoint pickers)."""
    return (record for record in inventory.kubernetes("Deployment") if any(_deployment_servers(record)))


def vllm_servers(inventory: Inventory) -> list[VllmServer]:
    """Every vLLM server the stack defines, on Kubernetes or on the single host."""
    servers = [s for record in inventory.kubernetes("Deployment") for s in _deployment_servers(record)]
    for record, compose in compose_files(inventory):
        service = (compose.get("services") or {}).get("vllm")
        if service:
            # docker compose has one health check; it plays the part of all three Kubernetes probes.
            probes = (
                frozenset({"startupProbe", "readinessProbe", "livenessProbe"})
                if service.get("healthcheck")
                else frozenset()
            )
            servers.append(
                VllmServer(
                    resource=record.name,
                    urn=record.urn,
                    image=str(service.get("image", "")),
                    args=[str(a) for a in service.get("command") or []],
                    probes=probes,
                )
            )
    return servers


def compose_images(inventory: Inventory) -> Iterator[tuple[str, str]]:
    """(resource, image) of every container of the single host's compose file."""
    for record, compose in compose_files(inventory):
        for service in (compose.get("services") or {}).values():
            yield record.name, str(service.get("image", ""))


def deployment_images(inventory: Inventory) -> Iterator[tuple[str, str]]:
    """(resource, image) of every container of every Deployment."""
    for record in inventory.kubernetes("Deployment"):
        pod = ((record.props.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
            yield record.name, str(container.get("image", ""))


def image_is_pinned(image: str) -> bool:
    """True for an image with a version tag (not `latest`) or a digest."""
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and not last.endswith(":latest")


def scaled_objects(inventory: Inventory) -> dict[tuple[str | None, str], dict[str, Any]]:
    """KEDA ScaledObject specs by (parent component, name of the Deployment they scale).

    The parent tells clusters apart: a primary and a standby region hold objects of the same names.
    """
    found = {}
    for record in inventory.kubernetes("ScaledObject"):
        spec = record.props.get("spec") or {}
        target = (spec.get("scaleTargetRef") or {}).get("name")
        if target:
            found[record.parent, target] = spec
    return found


@dataclass(frozen=True)
class InFlightTrigger:
    """A ScaledObject's trigger on a profile's requests in flight (running plus waiting), with its per-replica
    threshold."""

    record: Record
    profile: str
    threshold: float


_MODEL_NAME = re.compile(r'model_name="([^"]+)"')


def in_flight_triggers(inventory: Inventory) -> Iterator[InFlightTrigger]:
    """Every in-flight trigger (the Prometheus trigger whose query counts running requests) of every
    ScaledObject, by the profile its query selects."""
    for record in inventory.kubernetes("ScaledObject"):
        for trigger in (record.props.get("spec") or {}).get("triggers") or []:
            metadata = trigger.get("metadata") or {}
            query = str(metadata.get("query") or "")
            profile = _MODEL_NAME.search(query)
            if trigger.get("type") != "prometheus" or metrics.VLLM_RUNNING not in query or profile is None:
                continue
            try:
                threshold = float(metadata.get("threshold"))
            except (TypeError, ValueError):
                continue
            yield InFlightTrigger(record, profile.group(1), threshold)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector's `matchLabels` select pods with these labels."""
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def primary_gpu_node_groups(inventory: Inventory) -> list[Record]:
    """GPU node groups (NVIDIA AMIs) of the primary site; a warm standby is smaller by design."""
    return [
        group
        for group in inventory.of_type(NODE_GROUP)
        if "NVIDIA" in str(group.props.get("amiType", "")).upper()
        and (group.props.get("labels") or {}).get("llmscale.io/site") != "standby"
    ]


def envoy_proxy_of(inventory: Inventory, gateway: Record) -> Record | None:
    """The EnvoyProxy a Gateway's `infrastructure.parametersRef` names, in the same cluster.

    Two clusters (the enterprise primary and standby) hold objects of the same name: the one registered under
    the same component as the Gateway wins.
    """
    ref = ((gateway.props.get("spec") or {}).get("infrastructure") or {}).get("parametersRef") or {}
    named = [
        p for p in inventory.kubernetes("EnvoyProxy") if (p.props.get("metadata") or {}).get("name") == ref.get("name")
    ]
    if not ref or not named:
        return None
    return next((p for p in named if gateway.parent is not None and p.parent == gateway.parent), named[0])


def envoy_kubernetes_settings(inventory: Inventory, gateway: Record) -> dict[str, Any]:
    """The `provider.kubernetes` settings of a Gateway's EnvoyProxy ({} when it has none)."""
    proxy = envoy_proxy_of(inventory, gateway)
    if proxy is None:
        return {}
    return ((proxy.props.get("spec") or {}).get("provider") or {}).get("kubernetes") or {}
