"""Pinned versions agree: every chart's recorded appVersion is what its vendored Chart.yaml declares, the cluster
autoscaler matches the cluster's minor version, and the Kubernetes versions llmscale offers are still supported."""

from __future__ import annotations

from datetime import date

import pytest

from llmscale import versions
from llmscale.k8s.helm_values import app_version, chart_name
from llmscale.k8s.schema import KUBERNETES_VERSION

CHARTS = [value for value in vars(versions).values() if isinstance(value, versions.HelmChart)]
RELEASES = list(versions.EKS_RELEASES.values())


def minor(version: str) -> str:
    """`v1.35.2` -> `1.35`."""
    return ".".join(version.lstrip("v").split(".")[:2])


@pytest.mark.parametrize("chart", [*CHARTS, *(r.autoscaler_chart for r in RELEASES)], ids=lambda c: c.version)
def test_recorded_app_version_is_the_vendored_charts(chart: versions.HelmChart) -> None:
    assert chart.app_version, f"{chart.chart} {chart.version}: record its appVersion"
    assert chart.source, f"{chart.chart} {chart.version}: record where its appVersion was read"
    assert app_version(chart_name(chart.chart), chart.version) == chart.app_version


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.version)
def test_autoscaler_chart_image_and_cluster_share_a_minor_version(release: versions.EksRelease) -> None:
    # Chart 9.38.0 (autoscaler 1.31) with image 1.33 lacked the volumeattachments RBAC: the autoscaler never scaled.
    assert minor(release.autoscaler_chart.app_version) == release.version
    assert minor(release.autoscaler_image.tag) == release.version


def test_a_mismatched_autoscaler_is_what_the_rule_catches() -> None:
    old_chart = versions.HelmChart("cluster-autoscaler", "9.38.0", app_version="1.31.0")
    assert minor(old_chart.app_version) != "1.33"


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.version)
def test_offered_versions_are_still_supported_by_eks(release: versions.EksRelease) -> None:
    # Existing clusters may stay in extended support (at a higher price); a version past it must go.
    assert date.today() < release.end_of_extended_support, f"EKS {release.version} left extended support"
    assert release.end_of_standard_support < release.end_of_extended_support


def test_new_clusters_get_a_version_in_standard_support() -> None:
    default = versions.EKS_RELEASES[versions.DEFAULT_KUBERNETES_VERSION]
    assert date.today() < default.end_of_standard_support, "move DEFAULT_KUBERNETES_VERSION to a newer release"
    newest = max(versions.EKS_RELEASES, key=lambda v: tuple(map(int, v.split("."))))
    assert newest == versions.DEFAULT_KUBERNETES_VERSION


def test_objects_are_validated_against_the_default_clusters_schemas() -> None:
    assert minor(KUBERNETES_VERSION) == versions.DEFAULT_KUBERNETES_VERSION


def test_image_references_carry_their_tag_and_digest_when_recorded() -> None:
    image = versions.Image("repo/x", "v1", "test", digest="sha256:" + "0" * 64)
    assert image.ref == "repo/x:v1@sha256:" + "0" * 64
    assert versions.Image("repo/x", "v1", "test").ref == "repo/x:v1"
