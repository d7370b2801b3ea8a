"""The Kubernetes version of an EKS stack: still offered by EKS (from its API, else from the pinned calendar)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)
from botocore.parsers import ResponseParserError

from llmscale import versions
from llmscale.aws.preflight.results import CHECK_KUBERNETES, CheckResult, Client, Status, abort_if_unusable, error_code


@dataclass(frozen=True)
class EksVersion:
    """One EKS Kubernetes minor version's support window."""

    version: str
    end_of_standard_support: date
    end_of_extended_support: date


# Built-in EKS release calendar, used when the EKS API cannot answer describe_cluster_versions (an endpoint
# without it, such as moto, or credentials without eks:DescribeClusterVersions): llmscale.versions.EKS_SUPPORT.
EKS_CALENDAR_AS_OF = versions.EKS_CALENDAR_AS_OF
EKS_CALENDAR: tuple[EksVersion, ...] = tuple(
    EksVersion(version, standard, extended) for version, (standard, extended) in versions.EKS_SUPPORT.items()
)
MINOR_VERSION = re.compile(r"^1\.(\d{1,3})$")


def _minor(version: str) -> int:
    match = MINOR_VERSION.match(version)
    assert match is not None
    return int(match.group(1))


def _version_from_api(eks: Client, version: str) -> CheckResult:
    answer = eks.describe_cluster_versions(clusterVersions=[version], includeAll=True)
    entries = [entry for entry in answer.get("clusterVersions", []) if entry.get("clusterVersion") == version]
    if not entries:
        return CheckResult(CHECK_KUBERNETES, Status.FAIL, f"EKS does not offer Kubernetes {version}")
    entry = entries[0]
    status = str(entry.get("versionStatus") or entry.get("status") or "").upper().replace("-", "_")
    if status == "STANDARD_SUPPORT":
        until = entry.get("endOfStandardSupportDate")
        suffix = f" until {until:%Y-%m-%d}" if isinstance(until, date) else ""
        return CheckResult(CHECK_KUBERNETES, Status.PASS, f"Kubernetes {version} is in EKS standard support{suffix}")
    if status == "EXTENDED_SUPPORT":
        until = entry.get("endOfExtendedSupportDate")
        suffix = f" until {until:%Y-%m-%d}" if isinstance(until, date) else ""
        return CheckResult(
            CHECK_KUBERNETES,
            Status.PASS,
            f"Kubernetes {version} is in EKS extended support{suffix}, at a higher hourly price per cluster; "
            "plan an upgrade",
        )
    if status == "UNSUPPORTED":
        return CheckResult(CHECK_KUBERNETES, Status.FAIL, f"Kubernetes {version} is no longer supported by EKS")
    return CheckResult(
        CHECK_KUBERNETES,
        Status.UNKNOWN,
        f"EKS reported Kubernetes {version} as {status or 'no status'}; check `aws eks describe-cluster-versions`",
    )


def _version_from_calendar(version: str, today: date, why: str) -> CheckResult:
    source = f"llmscale's built-in EKS calendar as of {EKS_CALENDAR_AS_OF} ({why})"
    known = {entry.version: entry for entry in EKS_CALENDAR}
    entry = known.get(version)
    if entry is None:
        if _minor(version) < _minor(EKS_CALENDAR[0].version):
            return CheckResult(
                CHECK_KUBERNETES, Status.FAIL, f"Kubernetes {version} is past EKS extended support; {source}"
            )
        return CheckResult(
            CHECK_KUBERNETES,
            Status.UNKNOWN,
            f"Kubernetes {version} is newer than {source}; check `aws eks describe-cluster-versions "
            f"--cluster-versions {version}`",
        )
    if today <= entry.end_of_standard_support:
        return CheckResult(
            CHECK_KUBERNETES,
            Status.PASS,
            f"Kubernetes {version} is in EKS standard support until {entry.end_of_standard_support}; {source}",
        )
    if today <= entry.end_of_extended_support:
        return CheckResult(
            CHECK_KUBERNETES,
            Status.PASS,
            f"Kubernetes {version} is in EKS extended support until {entry.end_of_extended_support}, at a higher "
            f"hourly price per cluster; {source}",
        )
    return CheckResult(
        CHECK_KUBERNETES,
        Status.FAIL,
        f"Kubernetes {version} left EKS extended support on {entry.end_of_extended_support}; {source}",
    )


def check_kubernetes_version(version: str, eks: Client, today: date | None = None) -> CheckResult:
    """EKS supports the Kubernetes minor version (`1.33`) the stack asks for.

    Asks `eks describe_cluster_versions`; when the API cannot answer (moto, an old endpoint, missing
    permission), falls back to the built-in calendar and says so in the detail. Extended support passes with a
    note about its price; unsupported versions fail.
    """
    if not MINOR_VERSION.match(version):
        return CheckResult(CHECK_KUBERNETES, Status.FAIL, f"{version!r} is not a Kubernetes minor version such as 1.33")
    try:
        return _version_from_api(eks, version)
    except (ClientError, BotoCoreError, ResponseParserError) as error:
        abort_if_unusable(error)
        code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
        why = f"the EKS API did not answer: {code}"
        return _version_from_calendar(version, today or date.today(), why)
