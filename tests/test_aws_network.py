"""Tests for the AWS network: the pure address plan, zone choice and tags, and the Network component under mocks."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.aws.network import Network
from llmscale.aws import network
from llmscale.plan.recorder import is_unknown
from tests.aws_harness import Run, run

CLUSTER = "acme-llm"
TAGS = {"llmscale:stack": "t", "managed-by": "llmscale"}
ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
GPU = "g6e.12xlarge"

GET_AZS = "aws:index/getAvailabilityZones:getAvailabilityZones"
GET_OFFERINGS = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"
GET_REGION = "aws:index/getRegion:getRegion"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
VPC = "aws:ec2/vpc:Vpc"
IGW = "aws:ec2/internetGateway:InternetGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def invokes(offered: list[str], available: list[str] | None = None) -> dict[str, Any]:
    """Canned answers: the region's standard zones, the zones offering the GPU type, the region."""
    names = available if available is not None else [*ZONES, "eu-west-1d"]
    return {
        GET_AZS: {"names": names, "zoneIds": [f"euw1-az{i}" for i in range(len(names))], "id": "eu-west-1"},
        GET_OFFERINGS: {
            "locations": offered,
            "locationTypes": ["availability-zone"] * len(offered),
            "instanceTypes": [GPU] * len(offered),
            "id": "eu-west-1",
        },
        GET_REGION: {"region": "eu-west-1", "name": "eu-west-1", "id": "eu-west-1"},
    }


def build(
    *,
    zone_count: int = 3,
    nat_per_zone: bool = True,
    instance_type: str | None = GPU,
    zones: list[str] | None = None,
    offered: list[str] | None = None,
    cidr: str = "10.0.0.0/16",
    standby: bool = False,
    offline_plan: bool = False,
) -> Run:
    def program() -> dict[str, Any]:
        provider = aws.Provider("standby", region="us-west-2") if standby else None
        network = Network(
            "net",
            cidr=cidr,
            zone_count=zone_count,
            instance_type=instance_type,
            zones=zones,
            nat_per_zone=nat_per_zone,
            cluster_name=CLUSTER,
            tags=TAGS,
            provider=provider,
        )
        return {
            "vpc_id": network.vpc_id,
            "zones": network.zones,
            "public": network.public_subnet_ids,
            "private": network.private_subnet_ids,
            "nats": network.nat_gateway_ids,
        }

    return run(program, invokes=invokes(offered if offered is not None else ZONES[::-1]), offline_plan=offline_plan)


def subnets(plan: Run, tier: str) -> list[Any]:
    return sorted((r for r in plan.of_type(SUBNET) if f"-{tier}-" in r.name), key=lambda r: r.name)


# --- the address plan ------------------------------------------------------------------------------------------


def test_plan_for_a_slash_16_over_three_zones() -> None:
    plan = network.subnet_plan("10.0.0.0/16", 3)
    assert [z.private_cidr for z in plan] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert [z.public_cidr for z in plan] == ["10.0.224.0/24", "10.0.225.0/24", "10.0.226.0/24"]
    assert [z.zone_index for z in plan] == [0, 1, 2]


def test_adding_a_zone_keeps_the_existing_subnets() -> None:
    assert network.subnet_plan("10.20.0.0/18", 4)[:2] == network.subnet_plan("10.20.0.0/18", 2)


@given(
    prefix=st.integers(min_value=network.MIN_VPC_PREFIX, max_value=network.MAX_VPC_PREFIX),
    zone_count=st.integers(min_value=1, max_value=network.MAX_ZONES),
    base=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_subnets_are_inside_the_vpc_and_pairwise_disjoint(prefix: int, zone_count: int, base: int) -> None:
    vpc = ipaddress.IPv4Network((base, prefix), strict=False)
    plan = network.subnet_plan(str(vpc), zone_count)
    assert len(plan) == zone_count
    cidrs = [ipaddress.IPv4Network(c) for z in plan for c in (z.private_cidr, z.public_cidr)]
    assert len(cidrs) == 2 * zone_count
    assert all(c.subnet_of(vpc) for c in cidrs)
    assert all(not a.overlaps(b) for a, b in itertools.combinations(cidrs, 2))
    for zone in plan:
        private, public = ipaddress.IPv4Network(zone.private_cidr), ipaddress.IPv4Network(zone.public_cidr)
        assert private.num_addresses > public.num_addresses  # pods live in the private subnets
        assert public.prefixlen <= network.PUBLIC_PREFIX_LIMIT  # room for load balancers and a NAT


@given(prefix=st.integers(min_value=network.MAX_VPC_PREFIX + 1, max_value=28))
def test_a_vpc_smaller_than_a_slash_20_is_refused(prefix: int) -> None:
    vpc = ipaddress.IPv4Network(("10.0.0.0", prefix))
    with pytest.raises(ValueError, match=rf"/{prefix}; use a /16 to /20"):
        network.subnet_plan(str(vpc), 1)


@pytest.mark.parametrize(
    ("cidr", "zone_count", "message"),
    [
        ("10.0.0.0/15", 2, "use a /16"),
        ("10.0.0.1/16", 2, "not an IPv4 network"),
        ("2001:db8::/56", 2, "not an IPv4 network"),
        ("10.0.0.0/16", 0, "between 1 and 6"),
        ("10.0.0.0/16", 7, "between 1 and 6"),
    ],
)
def test_bad_plans_are_refused(cidr: str, zone_count: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        network.subnet_plan(cidr, zone_count)


# --- zones, NAT and tags (pure) --------------------------------------------------------------------------------


def test_zones_are_the_first_by_name_that_are_offered_and_standard() -> None:
    offered = ["eu-west-1c", "eu-west-1-lax-1a", "eu-west-1a", "eu-west-1b"]
    assert network.select_zones(offered, 2, available=ZONES) == ["eu-west-1a", "eu-west-1b"]
    assert network.select_zones(offered, 3) == ["eu-west-1-lax-1a", "eu-west-1a", "eu-west-1b"]


def test_too_few_zones_is_an_error_naming_the_type_and_the_zones() -> None:
    with pytest.raises(ValueError, match=r"2 availability zone\(s\) offering p5.48xlarge \(eu-west-1a, eu-west-1b\)"):
        network.select_zones(["eu-west-1b", "eu-west-1a"], 3, instance_type="p5.48xlarge")


@pytest.mark.parametrize(
    ("zones", "count", "message"),
    [(["eu-west-1a"], 2, "zone count is 2"), (["eu-west-1a", "eu-west-1a"], 2, "distinct")],
)
def test_explicit_zones_are_checked(zones: list[str], count: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        network.validate_zones(zones, count)


@pytest.mark.parametrize(("nat_per_zone", "nats", "routes"), [(True, [0, 1, 2], [0, 1, 2]), (False, [0], [0, 0, 0])])
def test_nat_layout(nat_per_zone: bool, nats: list[int], routes: list[int]) -> None:
    assert network.nat_zone_indexes(3, nat_per_zone) == nats
    assert [network.nat_for_zone(i, nat_per_zone) for i in range(3)] == routes


def test_subnet_tags() -> None:
    public = network.subnet_tags("public", CLUSTER)
    private = network.subnet_tags("private", CLUSTER)
    assert public == {"kubernetes.io/cluster/acme-llm": "shared", "kubernetes.io/role/elb": "1"}
    assert private == {
        "kubernetes.io/cluster/acme-llm": "shared",
        "kubernetes.io/role/internal-elb": "1",
        "karpenter.sh/discovery": CLUSTER,
    }


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 101, "a/b"])
def test_bad_cluster_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cluster name"):
        network.subnet_tags("public", name)


# --- the component ---------------------------------------------------------------------------------------------


def test_a_public_and_a_private_subnet_per_zone_from_the_plan() -> None:
    plan = build()
    public, private = subnets(plan, "public"), subnets(plan, "private")
    expected = network.subnet_plan("10.0.0.0/16", 3)
    assert [s.inputs["cidrBlock"] for s in public] == [z.public_cidr for z in expected]
    assert [s.inputs["cidrBlock"] for s in private] == [z.private_cidr for z in expected]
    assert [s.inputs["availabilityZone"] for s in public] == ZONES
    assert [s.inputs["availabilityZone"] for s in private] == ZONES
    assert plan.values["zones"] == ZONES
    assert len(plan.values["public"]) == len(plan.values["private"]) == 3
    vpc = plan.one(VPC)
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True


def test_subnet_tags_for_load_balancers_and_node_discovery() -> None:
    plan = build()
    for subnet in subnets(plan, "public"):
        tags = subnet.inputs["tags"]
        assert tags["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in tags
        assert tags[f"kubernetes.io/cluster/{CLUSTER}"] == "shared"
        assert "karpenter.sh/discovery" not in tags
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
        assert TAGS.items() <= tags.items()
    for subnet in subnets(plan, "private"):
        tags = subnet.inputs["tags"]
        assert tags["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in tags
        assert tags[f"kubernetes.io/cluster/{CLUSTER}"] == "shared"
        assert tags["karpenter.sh/discovery"] == CLUSTER


def _route_targets(plan: Run) -> dict[str, dict[str, str]]:
    """Route table name -> its 0.0.0.0/0 route."""
    return {
        t.name: next(r for r in t.inputs["routes"] if r["cidrBlock"] == "0.0.0.0/0") for t in plan.of_type(ROUTE_TABLE)
    }


def test_nat_per_zone_routes_each_zone_through_its_own_nat() -> None:
    plan = build(nat_per_zone=True)
    nats = sorted(plan.of_type(NAT), key=lambda n: n.name)
    assert len(nats) == len(plan.of_type(EIP)) == 3
    public_ids = [f"{s.name}-id" for s in subnets(plan, "public")]
    assert [n.inputs["subnetId"] for n in nats] == public_ids
    assert [n.inputs["allocationId"] for n in nats] == [f"eipalloc-net-nat-{i}" for i in range(3)]
    routes = _route_targets(plan)
    assert [routes[f"net-private-{i}"]["natGatewayId"] for i in range(3)] == [f"net-nat-{i}-id" for i in range(3)]
    assert len(plan.values["nats"]) == 3


def test_shared_nat_sits_in_the_first_zone_and_serves_all() -> None:
    plan = build(nat_per_zone=False)
    nat = plan.one(NAT)
    assert nat.inputs["subnetId"] == "net-public-0-id"
    assert len(plan.of_type(EIP)) == 1
    routes = _route_targets(plan)
    assert {routes[f"net-private-{i}"]["natGatewayId"] for i in range(3)} == {"net-nat-0-id"}
    igw_urn = plan.urn_of("net-igw")
    assert igw_urn in nat.dependencies  # NAT waits for the internet gateway


def test_public_subnets_route_to_the_internet_gateway_and_privates_do_not() -> None:
    plan = build()
    routes = _route_targets(plan)
    assert routes["net-public"] == {"cidrBlock": "0.0.0.0/0", "gatewayId": "net-igw-id"}
    assert all("gatewayId" not in routes[f"net-private-{i}"] for i in range(3))
    associations = {a.inputs["subnetId"]: a.inputs["routeTableId"] for a in plan.of_type(ASSOCIATION)}
    assert associations == {
        **{f"net-public-{i}-id": "net-public-id" for i in range(3)},
        **{f"net-private-{i}-id": f"net-private-{i}-id" for i in range(3)},
    }


def test_s3_gateway_endpoint_on_the_private_route_tables() -> None:
    endpoint = build().one(ENDPOINT)
    assert endpoint.inputs["serviceName"] == "com.amazonaws.eu-west-1.s3"
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert sorted(endpoint.inputs["routeTableIds"]) == [f"net-private-{i}-id" for i in range(3)]


def test_zones_offering_the_instance_type_are_looked_up() -> None:
    plan = build(zone_count=2, offered=["eu-west-1d", "eu-west-1c", "eu-west-1b"])
    [offerings] = [i for i in plan.invokes if i.token == GET_OFFERINGS]
    assert offerings.args["locationType"] == "availability-zone"
    assert offerings.args["filters"] == [{"name": "instance-type", "values": [GPU]}]
    assert plan.values["zones"] == ["eu-west-1b", "eu-west-1c"]
    assert [s.inputs["availabilityZone"] for s in subnets(plan, "private")] == ["eu-west-1b", "eu-west-1c"]


def test_too_few_zones_offering_the_type_fails_the_deployment() -> None:
    with pytest.raises(Exception, match=rf"1 availability zone\(s\) offering {GPU} \(eu-west-1c\), 3 are needed"):
        build(zone_count=3, offered=["eu-west-1c"])


def test_without_an_instance_type_the_first_available_zones() -> None:
    plan = build(zone_count=2, instance_type=None)
    assert GET_OFFERINGS not in {i.token for i in plan.invokes}
    [azs] = [i for i in plan.invokes if i.token == GET_AZS]
    assert azs.args["state"] == "available"
    assert azs.args["filters"] == [{"name": "zone-type", "values": ["availability-zone"]}]  # no Local Zones
    assert plan.values["zones"] == ["eu-west-1a", "eu-west-1b"]


def test_a_region_with_too_few_zones_fails_the_deployment() -> None:
    with pytest.raises(Exception, match=r"4 availability zone\(s\) available .*, 5 are needed"):
        build(zone_count=5, instance_type=None)


def test_explicit_zones_are_used_as_given() -> None:
    plan = build(zone_count=2, zones=["eu-west-1c", "eu-west-1a"])
    assert not {GET_OFFERINGS, GET_AZS} & {i.token for i in plan.invokes}
    assert [s.inputs["availabilityZone"] for s in subnets(plan, "public")] == ["eu-west-1c", "eu-west-1a"]


def test_bad_arguments_fail_before_any_resource() -> None:
    with pytest.raises(ValueError, match="zone count is 3"):
        build(zones=["eu-west-1a"])
    with pytest.raises(ValueError, match="use a /16 to /20"):
        build(cidr="10.0.0.0/22")


def test_every_child_is_parented_and_named_after_the_component() -> None:
    plan = build()
    component = plan.one("llmscale:index:Network")
    children = [r for r in plan.resources if r is not component]
    assert children and all(r.parent == component.urn for r in children)
    assert all(r.name.startswith("net-") for r in children)


def test_a_given_provider_builds_every_resource_and_lookup() -> None:
    plan = build(standby=True)
    provider = f"{plan.urn_of('standby')}::standby-id"
    resources = [r for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    assert resources and all(r.provider == provider for r in resources)
    default = build()
    assert all(r.provider is None for r in default.resources)


def test_offline_plan_registers_everything_with_zones_unknown() -> None:
    plan = build(offline_plan=True)
    assert len(plan.of_type(SUBNET)) == 6 and len(plan.of_type(NAT)) == 3
    assert all(is_unknown(s.inputs.get("availabilityZone", pulumi.UNKNOWN)) for s in plan.of_type(SUBNET))
