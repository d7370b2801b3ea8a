"""The single-gpu tier on AWS: one GPU instance running the host bundle behind HTTPS and API keys."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.bundle_store import BundleStore
from components.aws.host_network import HostNetwork
from components.aws.instance_recovery import InstanceRecovery
from components.aws.instance_schedule import InstanceSchedule
from llmscale import versions
from llmscale.aws import iam
from llmscale.aws.host import SingleGpuHostArgs, ingress_rules
from llmscale.host.bundle import BUNDLE_PREFIX, render_bootstrap, ssm_prefix


class SingleGpuHost(pulumi.ComponentResource):
    """One EC2 GPU instance serving one model profile with vLLM, behind Caddy (TLS + API keys)
    (`SingleGpuHostArgs`, from `llmscale.aws.host.single_gpu_host_args`).

    Builds the network (or uses a given subnet), an HTTPS-only security group, the bundle in S3 with its
    manifest in SSM (`BundleStore`), an IAM instance profile with SSM access and read access to the stack's
    secret parameters and bundle, the instance from the GPU AMI resolved at deploy time (IMDSv2 only,
    encrypted gp3 root sized for the model) with a bootstrap as user data, an Elastic IP, an optional DNS
    record, recovery alarms (notifying `alarm_topic_arn`) and the night schedule. `instance`, `network` and
    `bundle_store` are its main children.

    Only the instance type, the AMI (a newer one is ignored), the disk, the subnet and the bootstrap itself
    touch the instance; a changed bundle or secret is applied on the running host by llmscale-sync.
    """

    endpoint: pulumi.Output[str]
    base_url: pulumi.Output[str]
    instance_id: pulumi.Output[str]
    public_ip: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: SingleGpuHostArgs,
        *,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:SingleGpuHost", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        host, stack, region, tags = args, args.stack, args.region, args.tags

        network = HostNetwork(
            f"{name}-net",
            instance_type=args.instance_type,
            vpc_cidr=host.vpc_cidr,
            subnet_id=host.subnet_id,
            availability_zone=host.availability_zone,
            tags=tags,
            opts=child,
        )
        rules = ingress_rules(host.allowed_cidrs)
        security_group = aws.ec2.SecurityGroup(
            f"{name}-https",
            description="llmscale GPU host: HTTPS from the allowed networks only",
            vpc_id=network.vpc_id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": rule.port,
                    "to_port": rule.port,
                    "description": rule.description,
                    **({"ipv6_cidr_blocks": [rule.cidr]} if rule.is_ipv6 else {"cidr_blocks": [rule.cidr]}),
                }
                for rule in rules
            ],
            egress=[
                {
                    "protocol": "-1",
                    "from_port": 0,
                    "to_port": 0,
                    "cidr_blocks": ["0.0.0.0/0"],
                    "description": "Image, model and SSM downloads",
                }
            ],
            tags={**tags, "Name": f"{name}-https"},
            opts=child,
        )

        parameters = [
            aws.ssm.Parameter(
                f"{name}-{key}",
                name=f"{ssm_prefix(stack)}/{key}",
                type="SecureString",
                value=pulumi.Output.secret(value.get_secret_value()),
                description=f"llmscale {stack}: {key} read by the GPU host at start-up",
                tags=tags,
                opts=child,
            )
            for key, value in args.secret_parameters.items()
        ]

        role = aws.iam.Role(
            f"{name}-host",
            assume_role_policy=iam.assume_role_policy("ec2.amazonaws.com"),
            description="llmscale GPU host: SSM Session Manager, its own secret parameters and bundle",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-ssm-core", role=role.name, policy_arn=iam.SSM_CORE_POLICY, opts=child)
        boot_prerequisites: list[pulumi.Resource] = list(parameters)
        if parameters:
            read_secrets = aws.iam.RolePolicy(
                f"{name}-read-secrets",
                role=role.id,
                policy=pulumi.Output.all(*[p.arn for p in parameters]).apply(iam.read_parameters_policy),
                opts=child,
            )
            boot_prerequisites.append(read_secrets)

        store = BundleStore(
            f"{name}-bundle",
            stack=stack,
            bundle=list(args.bundle),
            manifest=args.bundle_manifest,
            tags=tags,
            opts=child,
        )
        read_bundle = aws.iam.RolePolicy(
            f"{name}-read-bundle",
            role=role.id,
            policy=pulumi.Output.all(
                store.bucket_arn,
                store.manifest_parameter.arn,
                store.location_parameter.arn,
                *[p.arn for p in parameters],
            ).apply(lambda arns: iam.read_bundle_policy(arns[0], BUNDLE_PREFIX, arns[1:])),
            opts=child,
        )
        boot_prerequisites += [store.manifest_parameter, read_bundle]
        profile_resource = aws.iam.InstanceProfile(f"{name}-host", role=role.name, tags=tags, opts=child)

        ami = aws.ssm.get_parameter_output(
            name=versions.GPU_AMI_SSM_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        instance = aws.ec2.Instance(
            f"{name}-gpu",
            ami=ami.value,
            instance_type=args.instance_type,
            subnet_id=network.subnet_id,
            vpc_security_group_ids=[security_group.id],
            iam_instance_profile=profile_resource.name,
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                # One hop: the host's scripts read SSM and S3; containers (which handle untrusted prompts) must
                # not reach the instance role's credentials.
                "http_put_response_hop_limit": 1,
            },
            root_block_device={
                "volume_type": "gp3",
                "volume_size": args.disk_gib,
                "encrypted": True,
                "delete_on_termination": True,
            },
            maintenance_options={"auto_recovery": "default"},
            # A bootstrap of the stack's name and region only: it never changes with the bundle. When it does
            # change (a new llmscale changes how the host syncs), cloud-init runs it only on a new instance,
            # hence the replacement (terraform-provider-aws ec2_instance.go: ForceNewIf("user_data", ...
            # user_data_replace_on_change)).
            user_data=render_bootstrap(stack, region),
            user_data_replace_on_change=True,
            tags={**tags, "Name": f"{name}-gpu"},
            volume_tags=tags,
            # A newer AMI in the SSM parameter must not replace a running host; rebuild it deliberately.
            # The first sync reads the bundle and the secrets: they and the permission to read them come first.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["ami"], depends_on=boot_prerequisites),
        )
        address = aws.ec2.Eip(
            f"{name}-ip", domain="vpc", instance=instance.id, tags={**tags, "Name": f"{name}-ip"}, opts=child
        )
        if host.domain and host.hosted_zone_id:
            aws.route53.Record(
                f"{name}-dns",
                zone_id=host.hosted_zone_id,
                name=host.domain,
                type="A",
                ttl=300,
                records=[address.public_ip],
                opts=child,
            )
        if host.recover_on_failure:
            InstanceRecovery(
                f"{name}-recovery",
                instance_id=instance.id,
                instance_arn=instance.arn,
                region=region,
                tags=tags,
                notify_topic_arn=host.alarm_topic_arn,
                opts=child,
            )
        if args.schedule is not None:
            InstanceSchedule(
                f"{name}-schedule",
                instance_id=instance.id,
                instance_arn=instance.arn,
                schedule=args.schedule,
                region=region,
                tags=tags,
                opts=child,
            )

        self.instance, self.network, self.bundle_store = instance, network, store
        self.public_ip = address.public_ip
        self.instance_id = instance.id
        self.endpoint = (
            pulumi.Output.from_input(f"https://{host.domain}")
            if host.domain
            else pulumi.Output.concat("https://", address.public_ip)
        )
        self.base_url = pulumi.Output.concat(self.endpoint, "/v1")
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "baseUrl": self.base_url,
                "instanceId": self.instance_id,
                "publicIp": self.public_ip,
            }
        )
