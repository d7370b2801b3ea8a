"""A small public network for one host: VPC, internet gateway, one public subnet where the GPU type is offered."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmscale.aws.network import host_subnet_cidr


class HostNetwork(pulumi.ComponentResource):
    """VPC with one public subnet, or an existing subnet given by id.

    Without an explicit zone, the subnet goes to the first zone (by name) that offers the GPU instance type,
    looked up at deploy time: not every GPU type is offered in every zone.
    """

    vpc_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        instance_type: str,
        vpc_cidr: str,
        subnet_id: str | None,
        availability_zone: str | None,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:HostNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if subnet_id is not None:
            existing = aws.ec2.get_subnet_output(id=subnet_id, opts=pulumi.InvokeOutputOptions(parent=self))
            self.vpc_id = existing.vpc_id
            self.subnet_id = pulumi.Output.from_input(subnet_id)
        else:
            zone: pulumi.Input[str]
            if availability_zone is not None:
                zone = availability_zone
            else:
                offerings = aws.ec2.get_instance_type_offerings_output(
                    location_type="availability-zone",
                    filters=[{"name": "instance-type", "values": [instance_type]}],
                    opts=pulumi.InvokeOutputOptions(parent=self),
                )
                zone = offerings.locations.apply(lambda zones: sorted(zones)[0])
            vpc = aws.ec2.Vpc(
                f"{name}-vpc",
                cidr_block=vpc_cidr,
                enable_dns_hostnames=True,
                enable_dns_support=True,
                tags={**tags, "Name": f"{name}-vpc"},
                opts=child,
            )
            gateway = aws.ec2.InternetGateway(
                f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child
            )
            subnet = aws.ec2.Subnet(
                f"{name}-public",
                vpc_id=vpc.id,
                cidr_block=host_subnet_cidr(vpc_cidr),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-public"},
                opts=child,
            )
            routes = aws.ec2.RouteTable(
                f"{name}-public",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
                tags={**tags, "Name": f"{name}-public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public", subnet_id=subnet.id, route_table_id=routes.id, opts=child)
            self.vpc_id = vpc.id
            self.subnet_id = subnet.id
        self.register_outputs({"vpcId": self.vpc_id, "subnetId": self.subnet_id})
