"""The VPC of an EKS deployment: public and private subnets over N availability zones, NAT, routes, S3 endpoint.

Nodes and pods live in the private subnets and reach the internet (images, Hugging Face) through NAT gateways;
load balancers live in the public subnets. Subnets carry the tags the AWS Load Balancer Controller and
Karpenter discover them by. The address plan comes from `llmscale.aws.network.subnet_plan`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from llmscale.aws.network import (
    nat_for_zone,
    nat_zone_indexes,
    s3_gateway_service,
    select_zones,
    subnet_plan,
    subnet_tags,
    validate_cluster_name,
    validate_zones,
)


class Network(pulumi.ComponentResource):
    """VPC (DNS support and hostnames on) with a public and a private subnet in each of `zone_count` zones.

    Zones: the given `zones`, or the first `zone_count` standard zones (by name) that offer `instance_type`,
    looked up at deploy time (not every GPU type is offered in every zone; too few is an error naming the
    zones found), or without an instance type the first `zone_count` available zones.

    NAT: one gateway per zone with `nat_per_zone` (enterprise: a zone outage does not cut the other zones off
    the internet), else one shared gateway in the first zone (multi-gpu: cheaper, one zone of failure). Each
    private subnet has its own route table, so switching modes only changes routes.

    A gateway endpoint for S3 (free) on the private route tables keeps model weight downloads from the model
    store off the NAT gateways, which charge per GB. The default security group is emptied so nothing relies
    on it by accident.

    `provider` builds the network with another AWS provider (e.g. the standby region's).
    """

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    zones: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    nat_gateway_ids: pulumi.Output[list[str]]
    private_route_table_ids: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        cidr: str,
        zone_count: int,
        instance_type: str | None,
        zones: Sequence[str] | None,
        nat_per_zone: bool,
        cluster_name: str,
        tags: dict[str, str],
        s3_endpoint: bool = True,
        provider: aws.Provider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        plan = subnet_plan(cidr, zone_count)
        validate_cluster_name(cluster_name)
        explicit_zones = validate_zones(zones, zone_count) if zones is not None else None
        super().__init__("llmscale:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        lookup = pulumi.InvokeOutputOptions(parent=self, provider=provider)

        chosen = self._zones(explicit_zones, zone_count, instance_type, lookup)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={**tags, "Name": f"{name}-default-unused"},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child
        )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for zone in plan:
            index = zone.zone_index
            az = chosen.apply(lambda names, i=index: names[i])
            public_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-public-{index}",
                    vpc_id=vpc.id,
                    cidr_block=zone.public_cidr,
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={**tags, **subnet_tags("public", cluster_name), "Name": f"{name}-public-{index}"},
                    opts=child,
                )
            )
            private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{index}",
                    vpc_id=vpc.id,
                    cidr_block=zone.private_cidr,
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={**tags, **subnet_tags("private", cluster_name), "Name": f"{name}-private-{index}"},
                    opts=child,
                )
            )

        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            tags={**tags, "Name": f"{name}-public"},
            opts=child,
        )
        for index, subnet in enumerate(public_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}", subnet_id=subnet.id, route_table_id=public_routes.id, opts=child
            )

        nats: dict[int, aws.ec2.NatGateway] = {}
        for index in nat_zone_indexes(zone_count, nat_per_zone):
            address = aws.ec2.Eip(
                f"{name}-nat-{index}", domain="vpc", tags={**tags, "Name": f"{name}-nat-{index}"}, opts=child
            )
            nats[index] = aws.ec2.NatGateway(
                f"{name}-nat-{index}",
                allocation_id=address.allocation_id,
                subnet_id=public_subnets[index].id,
                connectivity_type="public",
                tags={**tags, "Name": f"{name}-nat-{index}"},
                # A NAT gateway only forwards once the VPC has an internet gateway.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway])),
            )

        private_route_tables: list[aws.ec2.RouteTable] = []
        for index, subnet in enumerate(private_subnets):
            nat = nats[nat_for_zone(index, nat_per_zone)]
            routes = aws.ec2.RouteTable(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags={**tags, "Name": f"{name}-private-{index}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}", subnet_id=subnet.id, route_table_id=routes.id, opts=child
            )
            private_route_tables.append(routes)

        if s3_endpoint:
            region = aws.get_region_output(opts=lookup).region
            aws.ec2.VpcEndpoint(
                f"{name}-s3",
                vpc_id=vpc.id,
                service_name=region.apply(s3_gateway_service),
                vpc_endpoint_type="Gateway",
                route_table_ids=[t.id for t in private_route_tables],
                tags={**tags, "Name": f"{name}-s3"},
                opts=child,
            )

        self.vpc_id = vpc.id
        self.vpc_cidr = cidr
        self.zones = chosen
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.nat_gateway_ids = pulumi.Output.all(*[n.id for n in nats.values()])
        self.private_route_table_ids = pulumi.Output.all(*[t.id for t in private_route_tables])
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "zones": self.zones,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "natGatewayIds": self.nat_gateway_ids,
                "privateRouteTableIds": self.private_route_table_ids,
            }
        )

    def _zones(
        self,
        explicit: list[str] | None,
        count: int,
        instance_type: str | None,
        lookup: pulumi.InvokeOutputOptions,
    ) -> pulumi.Output[list[str]]:
        """The zones to build in: explicit, or looked up at deploy time (standard zones, offering the type)."""
        if explicit is not None:
            return pulumi.Output.from_input(explicit)
        available = aws.get_availability_zones_output(
            state="available",
            filters=[{"name": "zone-type", "values": ["availability-zone"]}],
            opts=lookup,
        ).names
        if instance_type is None:
            return available.apply(lambda names: select_zones(names, count))
        offered = aws.ec2.get_instance_type_offerings_output(
            location_type="availability-zone",
            filters=[{"name": "instance-type", "values": [instance_type]}],
            opts=lookup,
        ).locations
        return pulumi.Output.all(offered, available).apply(
            lambda both: select_zones(both[0], count, available=both[1], instance_type=instance_type)
        )
