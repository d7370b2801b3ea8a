"""The AWS regions a stack may name: those the pinned pulumi-aws provider knows.

Copied from pulumi-aws's `Region` enum (pulumi/pulumi-aws `sdk/python/pulumi_aws/_enums.py`, as installed with
pulumi-aws 7.51.1) so that validating a stack does not import the provider; `tests/test_regions.py` keeps the
two equal. A name outside this list (`mars-1`, `us-east-9`) is a typo or a region the provider cannot target,
and `pulumi up` would fail on it only after the program started.
"""

from __future__ import annotations

import difflib

AWS_REGIONS: tuple[str, ...] = (
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "cn-north-1",
    "cn-northwest-1",
    "eusc-de-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "eu-isoe-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
)
_KNOWN = frozenset(AWS_REGIONS)


def is_known_region(region: str) -> bool:
    """True when pulumi-aws can target `region`."""
    return region in _KNOWN


def region_problem(region: str) -> str | None:
    """Why `region` cannot be used (with the closest known name), or None when it can. Never echoes the value."""
    if is_known_region(region):
        return None
    close = difflib.get_close_matches(region.strip().lower(), AWS_REGIONS, n=1)
    hint = f"; did you mean {close[0]}?" if close else "; use one such as eu-west-1"
    return f"is not an AWS region pulumi-aws knows{hint}"
