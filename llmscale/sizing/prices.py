"""On-demand prices of the GPU instance types llmscale knows, with where each figure comes from.

The figures are the AWS Price List API's on-demand rates (Linux, shared tenancy, USD per instance-hour) as
generated into aws/karpenter-provider-aws `pkg/providers/pricing/zz_generated.pricing_aws.go` (us-east-1,
"generated at 2026-07-20T13:44:30Z") and `zz_generated.pricing_aws_us_gov.go` (us-gov-east-1 and us-gov-west-1,
"generated at 2026-07-20T13:44:38Z"), commit 6fc13b5236fd04fd16ff3f9dc7490d0813994099. Only the instance types
of `llmscale.sizing.catalog` are kept. No figure for another region was found in a source that can be cited, so
other regions use the us-east-1 rate and every answer says so (H200 `p5en` and B200 `p6-b200` from the same
files). Spot prices are left out: the generated files hold on-demand rates only, and no citable static source of
spot rates was found (they change hourly; Karpenter reads them live); a stack states its own rate with
`gpu.pricePerGpuHour` (which always wins), `llmscale size` with `--price-per-gpu-hour`.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmscale.sizing import catalog

CURRENCY = "USD"
BASE_REGION = "us-east-1"
PRICES_AS_OF = "2026-07-20"
PRICE_SOURCE = (
    "AWS Price List API on-demand rates (Linux, shared tenancy) of 2026-07-20, from "
    "aws/karpenter-provider-aws pkg/providers/pricing at 6fc13b5"
)

ON_DEMAND_PER_HOUR: dict[str, dict[str, float]] = {
    "us-east-1": {
        "g4dn.xlarge": 0.526,
        "g4dn.2xlarge": 0.752,
        "g4dn.4xlarge": 1.204,
        "g4dn.8xlarge": 2.176,
        "g4dn.16xlarge": 4.352,
        "g4dn.12xlarge": 3.912,
        "g4dn.metal": 7.824,
        "g5.xlarge": 1.006,
        "g5.2xlarge": 1.212,
        "g5.4xlarge": 1.624,
        "g5.8xlarge": 2.448,
        "g5.16xlarge": 4.096,
        "g5.12xlarge": 5.672,
        "g5.24xlarge": 8.144,
        "g5.48xlarge": 16.288,
        "g6.xlarge": 0.8048,
        "g6.2xlarge": 0.9776,
        "g6.4xlarge": 1.3232,
        "g6.8xlarge": 2.0144,
        "g6.16xlarge": 3.3968,
        "g6.12xlarge": 4.6016,
        "g6.24xlarge": 6.6752,
        "g6.48xlarge": 13.3504,
        "g6e.xlarge": 1.861,
        "g6e.2xlarge": 2.24208,
        "g6e.4xlarge": 3.00424,
        "g6e.8xlarge": 4.52856,
        "g6e.16xlarge": 7.57719,
        "g6e.12xlarge": 10.49264,
        "g6e.24xlarge": 15.06559,
        "g6e.48xlarge": 30.13118,
        "p4d.24xlarge": 21.957642,
        "p4de.24xlarge": 27.44705,
        "p5.48xlarge": 55.04,
        "p5en.48xlarge": 63.296,
        "p6-b200.48xlarge": 113.9328,
    },
    "us-gov-east-1": {
        "g4dn.xlarge": 0.663,
        "g4dn.2xlarge": 0.948,
        "g4dn.4xlarge": 1.518,
        "g4dn.8xlarge": 2.743,
        "g4dn.16xlarge": 5.486,
        "g4dn.12xlarge": 4.931,
        "g6.xlarge": 1.0144,
        "g6.2xlarge": 1.2322,
        "g6.4xlarge": 1.66781,
        "g6.8xlarge": 2.53903,
        "g6.16xlarge": 4.28145,
        "g6.12xlarge": 5.80003,
        "g6.24xlarge": 8.41367,
        "g6.48xlarge": 16.82734,
        "p6-b200.48xlarge": 136.71936,
    },
    "us-gov-west-1": {
        "g4dn.xlarge": 0.663,
        "g4dn.2xlarge": 0.948,
        "g4dn.4xlarge": 1.518,
        "g4dn.8xlarge": 2.743,
        "g4dn.16xlarge": 5.486,
        "g4dn.12xlarge": 4.931,
        "g4dn.metal": 9.862,
        "g6.xlarge": 1.0144,
        "g6.2xlarge": 1.2322,
        "g6.4xlarge": 1.66781,
        "g6.8xlarge": 2.53903,
        "g6.16xlarge": 4.28145,
        "g6.12xlarge": 5.80003,
        "g6.24xlarge": 8.41367,
        "g6.48xlarge": 16.82734,
        "p4d.24xlarge": 26.3511,
        "p5.48xlarge": 66.048,
        "p5en.48xlarge": 75.9552,
        "p6-b200.48xlarge": 136.71936,
    },
}


@dataclass(frozen=True)
class GpuPrice:
    """What one GPU-hour costs, and where the figure comes from (one line a user can check)."""

    per_gpu_hour: float
    currency: str
    source: str
    instance_type: str | None = None
    region: str | None = None

    def to_json(self) -> dict[str, object]:
        """camelCase document."""
        return {
            "pricePerGpuHour": round(self.per_gpu_hour, 6),
            "currency": self.currency,
            "source": self.source,
            "instanceType": self.instance_type,
            "region": self.region,
        }


def instance_price(instance_type: str, region: str | None = None) -> tuple[float, str] | None:
    """(USD per instance-hour, the region the figure is for) of a catalogued EC2 type; None when not in the table.

    A region without its own figure gets the us-east-1 figure, and the region returned says so.
    """
    wanted = region or BASE_REGION
    if instance_type in ON_DEMAND_PER_HOUR.get(wanted, {}):
        return ON_DEMAND_PER_HOUR[wanted][instance_type], wanted
    if instance_type in ON_DEMAND_PER_HOUR[BASE_REGION]:
        return ON_DEMAND_PER_HOUR[BASE_REGION][instance_type], BASE_REGION
    return None


def on_demand_gpu_price(gpu: str, region: str | None = None) -> GpuPrice | None:
    """The on-demand price of one GPU-hour of `gpu`: a catalogued EC2 type (g6e.2xlarge) or an accelerator name
    (L40S, priced as its smallest instance, g6e.xlarge). An instance's price is split over its GPUs. None when
    the table has no figure (an on-prem node type)."""
    instance_type = catalog.instance_type_for(gpu)
    if instance_type is None:
        return None
    found = instance_price(instance_type, region)
    known = catalog.lookup(instance_type)
    if found is None or known is None:
        return None
    per_hour, priced_region = found
    where = priced_region
    if region and priced_region != region:
        where = f"{priced_region}, used for {region}, which has no figure here"
    return GpuPrice(
        per_gpu_hour=per_hour / known.gpus,
        currency=CURRENCY,
        source=f"{instance_type} on-demand in {where}: {PRICE_SOURCE}",
        instance_type=instance_type,
        region=priced_region,
    )


def stated_gpu_price(amount: float, key: str = "gpu.pricePerGpuHour") -> GpuPrice:
    """A rate the user stated (a stack's `gpu.pricePerGpuHour`, `--price-per-gpu-hour`): it beats the table."""
    return GpuPrice(per_gpu_hour=amount, currency=CURRENCY, source=f"{key}, as stated")
