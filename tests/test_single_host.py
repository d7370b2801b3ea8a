"""Tests for the single-gpu tier on AWS: the real Pulumi program planned offline under recording mocks.

The example stack `single-gpu` and variants of it (written to a temporary directory) are planned once per
module; each test reads the recorded resources and invokes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

import llmscale.plan.runner as runner
import llmscale.program
from llmscale import versions
from llmscale.aws.iam import read_bundle_policy
from llmscale.config.loader import LoadedStack, load_stack, resolve_stack
from llmscale.host.bundle import (
    BUNDLE_PREFIX,
    SecretSource,
    bundle_manifest,
    render_bootstrap,
    render_bundle,
    user_data_files,
)
from llmscale.plan.recorder import RecordedResource, RecordingMonitor, is_secret, is_unknown
from llmscale.plan.runner import PlanResult, run_program

STACK = "single-gpu"
REGION = "eu-west-1"
ALLOWED_CIDR = "203.0.113.0/24"
IPV6_CIDR = "2001:db8::/32"
DOMAIN = "llm.example.com"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
EC2_USER_DATA_LIMIT = 16384

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INSTANCE = "aws:ec2/instance:Instance"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
PARAMETER = "aws:ssm/parameter:Parameter"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
EIP = "aws:ec2/eip:Eip"
RECORD = "aws:route53/record:Record"
TOP_COMPONENT = "llmscale:index:SingleGpuHost"
GET_PARAMETER = "aws:ssm/getParameter:getParameter"
BUNDLE_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
BUCKET = "aws:s3/bucket:Bucket"
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:llm-alarms"

# Resource types whose AWS API has no tags (Route 53 records are untagged too).
UNTAGGED = {
    ROLE_POLICY,
    ATTACHMENT,
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    SCHEDULE,
    EVENT_TARGET,
    RECORD,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
}

API_KEYS_VALUE = '{"pilot-team": "sk-test-Zq8vN3kP0aLr7sXe"}'
HF_TOKEN_VALUE = "hf_testTokenXy7Qw9Lm2Pz4"


# --- helpers ---------------------------------------------------------------------------------------------


def example_document() -> dict[str, Any]:
    _, path = resolve_stack(STACK)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_variant(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """Write stacks/Pulumi.single-gpu.yaml with `change` applied to its `config:` mapping as Pulumi.NAME.yaml."""
    document = example_document()
    change(document["config"])
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def plan_variant(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> PlanResult:
    return run_program(load_stack(str(write_variant(directory, name, change))), llmscale.program.main)


def of_type(plan: PlanResult, type_: str) -> list[RecordedResource]:
    return [r for r in plan.resources if r.type == type_]


def one(plan: PlanResult, type_: str, name: str | None = None) -> RecordedResource:
    found = [r for r in of_type(plan, type_) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {type_} {name or ''}, got {[r.name for r in found]}"
    return found[0]


def trusted_services(role: RecordedResource) -> set[str]:
    document = json.loads(role.inputs["assumeRolePolicy"])
    services: set[str] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRole"
        service = statement["Principal"]["Service"]
        services.update(service if isinstance(service, list) else [service])
    return services


def children_of(plan: PlanResult, component_type: str) -> list[RecordedResource]:
    parent = one(plan, component_type)
    return [r for r in plan.resources if r.parent == parent.urn]


def user_data(plan: PlanResult) -> str:
    value = one(plan, INSTANCE).inputs["userData"]
    assert isinstance(value, str)
    return value


def bundle_objects(plan: PlanResult) -> dict[str, RecordedResource]:
    """The bundle's S3 objects by the path of their file in the install directory."""
    objects = {r.inputs["key"].removeprefix("bundle/"): r for r in of_type(plan, BUNDLE_OBJECT)}
    assert len(objects) == len(of_type(plan, BUNDLE_OBJECT))
    return objects


def bundle_file(plan: PlanResult, path: str) -> str:
    return bundle_objects(plan)[path].inputs["content"]


def parameter(plan: PlanResult, name: str) -> RecordedResource:
    [found] = [p for p in of_type(plan, PARAMETER) if p.inputs["name"] == name]
    return found


def follows(args: list[str], flag: str) -> str:
    """The value after `flag` in an argument list."""
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return run_program(load_stack(STACK), llmscale.program.main)


@pytest.fixture(scope="module")
def variants_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stacks")


@pytest.fixture(scope="module")
def ipv6_plan(variants_dir: Path) -> PlanResult:
    def change(config: dict[str, Any]) -> None:
        config["llmscale:host"]["allowedCidrs"] = [ALLOWED_CIDR, IPV6_CIDR]

    return plan_variant(variants_dir, "single-gpu-ipv6", change)


@pytest.fixture(scope="module")
def unscheduled_plan(variants_dir: Path) -> PlanResult:
    def change(config: dict[str, Any]) -> None:
        config["llmscale:schedule"]["enabled"] = False

    return plan_variant(variants_dir, "single-gpu-always-on", change)


@pytest.fixture(scope="module")
def dns_plan(variants_dir: Path) -> PlanResult:
    def change(config: dict[str, Any]) -> None:
        config["llmscale:host"]["domain"] = DOMAIN
        config["llmscale:host"]["hostedZoneId"] = ZONE_ID

    return plan_variant(variants_dir, "single-gpu-dns", change)


@pytest.fixture(scope="module")
def decrypted_plan() -> PlanResult:
    """The example stack as `pulumi up` runs it: secrets decrypted to real values."""
    stack = load_stack(STACK)
    config = {**stack.pulumi_config, "llmscale:apiKeys": API_KEYS_VALUE, "llmscale:hfToken": HF_TOKEN_VALUE}
    decrypted = dataclasses.replace(stack, pulumi_config=config, undecryptable=frozenset())
    return run_program(decrypted, llmscale.program.main)


# --- security group --------------------------------------------------------------------------------------


def test_security_group_allows_only_https_from_the_allowed_networks(plan: PlanResult) -> None:
    group = one(plan, SECURITY_GROUP)
    ingress = group.inputs["ingress"]
    assert ingress, "the endpoint must be reachable from the allowed networks"
    for rule in ingress:
        assert rule["protocol"] == "tcp"
        assert rule["fromPort"] == 443
        assert rule["toPort"] == 443
        assert not rule.get("ipv6CidrBlocks")
        assert not rule.get("securityGroups")
        assert not rule.get("self")
    assert sorted(c for rule in ingress for c in rule.get("cidrBlocks", [])) == [ALLOWED_CIDR]


def test_no_ssh_port_anywhere(plan: PlanResult) -> None:
    group = one(plan, SECURITY_GROUP)
    for rule in group.inputs["ingress"]:
        assert not (rule["fromPort"] <= 22 <= rule["toPort"]), rule
        assert rule["protocol"] not in ("-1", "all"), rule
    # No rules added outside the group.
    assert not [r for r in plan.resources if "ecurityGroupRule" in r.type or "ecurityGroupIngressRule" in r.type]
    assert one(plan, INSTANCE).inputs.get("keyName") is None


def test_ipv6_cidr_lands_in_ipv6_blocks(ipv6_plan: PlanResult) -> None:
    ingress = one(ipv6_plan, SECURITY_GROUP).inputs["ingress"]
    ipv4 = [c for rule in ingress for c in rule.get("cidrBlocks", [])]
    ipv6 = [c for rule in ingress for c in rule.get("ipv6CidrBlocks", [])]
    assert ipv4 == [ALLOWED_CIDR]
    assert ipv6 == [IPV6_CIDR]
    assert all(rule["protocol"] == "tcp" and rule["fromPort"] == rule["toPort"] == 443 for rule in ingress)


# --- instance --------------------------------------------------------------------------------------------


def test_instance_requires_imdsv2(plan: PlanResult) -> None:
    assert one(plan, INSTANCE).inputs["metadataOptions"]["httpTokens"] == "required"


def test_root_volume_is_encrypted_gp3_and_large_enough(plan: PlanResult) -> None:
    root = one(plan, INSTANCE).inputs["rootBlockDevice"]
    assert root["encrypted"] is True
    assert root["volumeType"] == "gp3"
    assert root["volumeSize"] >= 150


def test_ami_is_looked_up_at_deploy_time(plan: PlanResult) -> None:
    instance = one(plan, INSTANCE)
    assert is_unknown(instance.inputs["ami"])
    lookups = [i for i in plan.invokes if i.token == GET_PARAMETER]
    assert [i.args.get("name") for i in lookups] == [versions.GPU_AMI_SSM_PARAMETER]


def test_newer_ami_does_not_replace_the_instance(plan: PlanResult) -> None:
    assert "ami" in one(plan, INSTANCE).ignore_changes


def test_instance_profile_role_trusts_ec2_and_has_ssm_core(plan: PlanResult) -> None:
    instance = one(plan, INSTANCE)
    profiles = [p for p in of_type(plan, INSTANCE_PROFILE) if p.urn in instance.dependencies]
    assert len(profiles) == 1
    [role] = [r for r in of_type(plan, ROLE) if r.urn in profiles[0].dependencies]
    assert trusted_services(role) == {"ec2.amazonaws.com"}
    attachments = [a for a in of_type(plan, ATTACHMENT) if role.urn in a.dependencies]
    assert [a.inputs["policyArn"] for a in attachments] == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    readers = [p for p in of_type(plan, ROLE_POLICY) if role.urn in p.dependencies]
    assert sorted(p.name for p in readers) == [f"{STACK}-read-bundle", f"{STACK}-read-secrets"]


def test_read_bundle_policy_reads_the_bundle_and_nothing_else() -> None:
    bucket = "arn:aws:s3:::single-gpu-bundle-abc"
    parameters = [
        "arn:aws:ssm:eu-west-1:123456789012:parameter/llmscale/single-gpu/bundle-location",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/llmscale/single-gpu/bundle",
    ]
    statements = json.loads(read_bundle_policy(bucket, BUNDLE_PREFIX, parameters))["Statement"]
    assert statements == [
        {"Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": sorted(parameters)},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{bucket}/bundle/*"},
    ]


# --- user data: a stable bootstrap -----------------------------------------------------------------------


def test_user_data_is_cloud_config_yaml(plan: PlanResult) -> None:
    text = user_data(plan)
    assert text.startswith("#cloud-config\n")
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    assert document["write_files"]
    assert ["systemctl", "enable", "--now", "llmscale-sync.timer"] in document["runcmd"]


def test_user_data_fits_the_ec2_limit(plan: PlanResult) -> None:
    assert len(user_data(plan).encode("utf-8")) < EC2_USER_DATA_LIMIT


def test_user_data_is_a_bootstrap_without_the_bundle(plan: PlanResult) -> None:
    """Only the sync script and its systemd units: no compose file, no rules, no Caddyfile."""
    files = user_data_files(user_data(plan))
    assert sorted(files) == [
        "/etc/systemd/system/llmscale-sync.service",
        "/etc/systemd/system/llmscale-sync.timer",
        "/usr/local/sbin/llmscale-sync",
    ]
    sync = files["/usr/local/sbin/llmscale-sync"]
    assert f'MANIFEST = "/llmscale/{STACK}/bundle"' in sync
    assert f'REGION = "{REGION}"' in sync
    for text in (versions.VLLM_IMAGE, "--max-model-len", "rule_files", "reverse_proxy", "LlmscaleErrorRateHigh"):
        assert text not in user_data(plan), text


def test_instance_is_replaced_only_by_a_changed_bootstrap(plan: PlanResult) -> None:
    instance = one(plan, INSTANCE)
    assert instance.inputs["userDataReplaceOnChange"] is True
    assert "ami" in instance.ignore_changes


def test_bundle_runs_the_pinned_vllm_with_the_profile_limits(plan: PlanResult) -> None:
    compose = yaml.safe_load(bundle_file(plan, "docker-compose.yml"))
    vllm = compose["services"]["vllm"]
    assert vllm["image"] == versions.VLLM_IMAGE
    args = [str(a) for a in vllm["command"]]
    assert follows(args, "--max-model-len") == "8192"
    assert follows(args, "--max-num-seqs") == "64"
    assert int(follows(args, "--max-num-queued-reqs")) >= 64
    assert follows(args, "--served-model-name") == "chat"


def test_bundle_objects_are_the_rendered_bundle(plan: PlanResult) -> None:
    stack = load_stack(STACK)
    rendered = render_bundle(stack.config, STACK, secret_source=SecretSource.SSM, region=REGION)
    objects = bundle_objects(plan)
    assert sorted(objects) == sorted(f.path for f in rendered)
    for file in rendered:
        assert objects[file.path].inputs["content"] == file.content, file.path
        assert objects[file.path].name.startswith(f"{STACK}-bundle-")


def test_manifest_names_every_object_with_its_hash_and_the_secret_parameters(plan: PlanResult) -> None:
    manifest = parameter(plan, f"/llmscale/{STACK}/bundle")
    assert manifest.inputs["type"] == "String"
    assert manifest.inputs["tier"] == "Intelligent-Tiering"
    document = json.loads(manifest.inputs["insecureValue"])
    objects = bundle_objects(plan)
    assert sorted(f["path"] for f in document["files"]) == sorted(objects)
    for entry in document["files"]:
        content = objects[entry["path"]].inputs["content"].encode("utf-8")
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), entry["path"]
    secure = [p.inputs["name"] for p in of_type(plan, PARAMETER) if p.inputs["type"] == "SecureString"]
    assert sorted(f"/llmscale/{STACK}/{name}" for name in document["secrets"]) == sorted(secure)
    # Written once every object is in place, and small enough for the standard tier (4 KB).
    assert {o.urn for o in objects.values()} <= set(manifest.dependencies)
    assert len(manifest.inputs["insecureValue"].encode("utf-8")) < 4096
    assert manifest.inputs["insecureValue"] == bundle_manifest(
        load_stack(STACK).config,
        render_bundle(load_stack(STACK).config, STACK, secret_source=SecretSource.SSM, region=REGION),
    )


def test_bundle_location_parameter_points_at_the_bucket(plan: PlanResult) -> None:
    location = parameter(plan, f"/llmscale/{STACK}/bundle-location")
    assert location.inputs["type"] == "String"
    assert is_unknown(location.inputs["insecureValue"])  # the bucket's name is known after apply
    assert one(plan, BUCKET).urn in location.dependencies


def test_bundle_bucket_is_private_encrypted_and_tls_only(plan: PlanResult) -> None:
    bucket = one(plan, BUCKET)
    assert bucket.inputs["forceDestroy"] is True  # generated files only
    block = one(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[key] is True, key
    ownership = one(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    sse = one(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    policy = one(plan, "aws:s3/bucketPolicy:BucketPolicy")
    assert {block.urn, ownership.urn} <= set(policy.dependencies)
    for resource in (block, ownership, sse, policy):
        assert bucket.urn in resource.dependencies


def test_bootstrap_and_bundle_hold_no_secret(plan: PlanResult, decrypted_plan: PlanResult) -> None:
    assert "[secret]" not in user_data(plan)
    for name, current in ((STACK, plan), ("decrypted", decrypted_plan)):
        texts = [user_data(current), *(o.inputs["content"] for o in bundle_objects(current).values())]
        texts.append(parameter(current, f"/llmscale/{STACK}/bundle").inputs["insecureValue"])
        for text in texts:
            for value in ("sk-test-Zq8vN3kP0aLr7sXe", HF_TOKEN_VALUE, "[secret]"):
                assert value not in text, (name, value)
    # Same bootstrap and bundle whatever the secret values are: secrets only reach the host through SSM.
    assert user_data(decrypted_plan) == user_data(plan)
    assert {p: o.inputs["content"] for p, o in bundle_objects(decrypted_plan).items()} == {
        p: o.inputs["content"] for p, o in bundle_objects(plan).items()
    }


def test_start_sh_fetches_each_secret_from_ssm_with_decryption(plan: PlanResult) -> None:
    start = bundle_file(plan, "bin/start.sh")
    assert "aws ssm get-parameter" in start
    assert "--with-decryption" in start
    assert f"/llmscale/{STACK}/" in start
    for found in of_type(plan, PARAMETER):
        if found.inputs["type"] == "SecureString":
            key = found.inputs["name"].rsplit("/", 1)[1]
            assert key in start.split(), f"{key} is not fetched by start.sh"


# --- SSM parameters --------------------------------------------------------------------------------------


def test_secrets_are_secure_string_parameters(plan: PlanResult) -> None:
    parameters = of_type(plan, PARAMETER)
    secure = [p for p in parameters if p.inputs["type"] == "SecureString"]
    assert sorted(p.inputs["name"] for p in secure) == [
        f"/llmscale/{STACK}/api-keys",
        f"/llmscale/{STACK}/hf-token",
    ]
    for found in secure:
        assert is_secret(found.inputs["value"])
    # The others are the bundle's manifest and location: plain text, no value field that could hide a secret.
    plain = sorted(p.inputs["name"] for p in parameters if p.inputs["type"] != "SecureString")
    assert plain == [f"/llmscale/{STACK}/bundle", f"/llmscale/{STACK}/bundle-location"]
    assert all("value" not in p.inputs for p in parameters if p.inputs["type"] != "SecureString")


def test_decrypted_secret_values_go_to_ssm_as_secrets(decrypted_plan: PlanResult) -> None:
    values = {p.inputs["name"]: p.inputs["value"] for p in of_type(decrypted_plan, PARAMETER) if "value" in p.inputs}
    assert all(is_secret(value) for value in values.values())
    assert values[f"/llmscale/{STACK}/api-keys"]["value"] == API_KEYS_VALUE
    assert values[f"/llmscale/{STACK}/hf-token"]["value"] == HF_TOKEN_VALUE


def test_instance_waits_for_its_parameters_and_bundle(plan: PlanResult) -> None:
    instance = one(plan, INSTANCE)
    assert {p.urn for p in of_type(plan, PARAMETER)} - set(instance.dependencies) == {
        parameter(plan, f"/llmscale/{STACK}/bundle-location").urn  # reached through the manifest
    }
    manifest = parameter(plan, f"/llmscale/{STACK}/bundle")
    assert manifest.urn in instance.dependencies
    assert {p.urn for p in of_type(plan, ROLE_POLICY) if p.name.startswith(f"{STACK}-read-")} <= set(
        instance.dependencies
    )


# --- schedule --------------------------------------------------------------------------------------------


def test_schedule_starts_and_stops_the_instance(plan: PlanResult) -> None:
    schedules = {s.inputs["target"]["arn"]: s for s in of_type(plan, SCHEDULE)}
    assert len(of_type(plan, SCHEDULE)) == 2
    assert set(schedules) == {
        "arn:aws:scheduler:::aws-sdk:ec2:startInstances",
        "arn:aws:scheduler:::aws-sdk:ec2:stopInstances",
    }
    start = schedules["arn:aws:scheduler:::aws-sdk:ec2:startInstances"]
    stop = schedules["arn:aws:scheduler:::aws-sdk:ec2:stopInstances"]
    # The window opens at 07:00: the instance starts schedule.warmUpMinutes (15) earlier to boot and load.
    assert start.inputs["scheduleExpression"] == "cron(45 6 ? * MON,TUE,WED,THU,FRI *)"
    assert stop.inputs["scheduleExpression"] == "cron(0 20 ? * MON,TUE,WED,THU,FRI *)"
    for schedule in (start, stop):
        assert schedule.inputs["scheduleExpressionTimezone"] == "Europe/Berlin"
        assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}


@pytest.fixture(scope="module")
def early_plan(variants_dir: Path) -> PlanResult:
    def change(config: dict[str, Any]) -> None:
        config["llmscale:schedule"].update(start="00:10", warmUpMinutes=30)

    return plan_variant(variants_dir, "single-gpu-early", change)


def test_the_instance_starts_by_the_warm_up_on_the_day_before(early_plan: PlanResult) -> None:
    # A 00:10 window less 30 minutes of warm-up starts at 23:40 the evening before; the stop does not move.
    schedules = {s.inputs["target"]["arn"].rsplit(":", 1)[1]: s for s in of_type(early_plan, SCHEDULE)}
    assert schedules["startInstances"].inputs["scheduleExpression"] == "cron(40 23 ? * MON,TUE,WED,THU,SUN *)"
    assert schedules["stopInstances"].inputs["scheduleExpression"] == "cron(0 20 ? * MON,TUE,WED,THU,FRI *)"


CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"


def test_schedule_role_trust_waits_for_the_account(plan: PlanResult) -> None:
    """The trust policy names the deploying account (confused-deputy conditions): an offline plan cannot know
    it and says so; tests/test_service_roles.py checks the document with a known account."""
    [role] = [r for r in children_of(plan, "llmscale:index:InstanceSchedule") if r.type == ROLE]
    assert is_unknown(role.inputs["assumeRolePolicy"])
    assert CALLER_IDENTITY in {i.token for i in plan.invokes}
    for schedule in of_type(plan, SCHEDULE):
        assert role.urn in schedule.dependencies


def test_no_schedule_when_disabled(unscheduled_plan: PlanResult) -> None:
    assert of_type(unscheduled_plan, SCHEDULE) == []
    assert of_type(unscheduled_plan, "llmscale:index:InstanceSchedule") == []
    known = [r for r in of_type(unscheduled_plan, ROLE) if not is_unknown(r.inputs["assumeRolePolicy"])]
    assert not [r for r in known if "scheduler.amazonaws.com" in trusted_services(r)]
    assert len(of_type(unscheduled_plan, INSTANCE)) == 1


# --- recovery --------------------------------------------------------------------------------------------


def test_status_check_alarms(plan: PlanResult) -> None:
    alarms = {a.inputs["metricName"]: a for a in of_type(plan, ALARM)}
    assert set(alarms) == {"StatusCheckFailed_System", "StatusCheckFailed_Instance"}
    for alarm in alarms.values():
        assert alarm.inputs["namespace"] == "AWS/EC2"
        assert "InstanceId" in alarm.inputs["dimensions"]
    assert alarms["StatusCheckFailed_Instance"].inputs["alarmActions"] == [f"arn:aws:automate:{REGION}:ec2:reboot"]


def test_system_check_restarts_through_automation(plan: PlanResult) -> None:
    target = one(plan, EVENT_TARGET)
    assert "AWS-RestartEC2Instance" in target.inputs["arn"]
    assert target.inputs["arn"].startswith(f"arn:aws:ssm:{REGION}:")
    [role] = [r for r in children_of(plan, "llmscale:index:InstanceRecovery") if r.type == ROLE]
    # Trust names the account and the rule: known after apply (tests/test_service_roles.py checks it).
    assert is_unknown(role.inputs["assumeRolePolicy"])
    assert role.urn in target.dependencies


# --- address and DNS -------------------------------------------------------------------------------------


def test_elastic_ip_is_in_the_vpc(plan: PlanResult) -> None:
    address = one(plan, EIP)
    assert address.inputs["domain"] == "vpc"
    assert one(plan, INSTANCE).urn in address.dependencies


def test_no_dns_record_without_a_domain(plan: PlanResult) -> None:
    assert of_type(plan, RECORD) == []


def test_dns_record_with_domain_and_zone(dns_plan: PlanResult) -> None:
    record = one(dns_plan, RECORD)
    assert record.inputs["type"] == "A"
    assert record.inputs["name"] == DOMAIN
    assert record.inputs["zoneId"] == ZONE_ID
    assert one(dns_plan, EIP).urn in record.dependencies


# --- tags, parents and names -----------------------------------------------------------------------------


def test_every_taggable_resource_carries_the_stack_tag(plan: PlanResult) -> None:
    taggable = [r for r in plan.resources if r.custom and r.type not in UNTAGGED]
    assert len(taggable) >= 15
    for resource in taggable:
        tags = resource.inputs.get("tags")
        assert isinstance(tags, dict), f"{resource.type} {resource.name} has no tags"
        assert tags.get("llmscale:stack") == STACK, f"{resource.type} {resource.name}"


def test_every_resource_hangs_under_the_top_component(plan: PlanResult) -> None:
    tier = one(plan, "llmscale:index:SingleGpuTier")
    assert tier.parent is not None and "pulumi:pulumi:Stack" in tier.parent
    assert one(plan, TOP_COMPONENT).parent == tier.urn
    components = {r.urn for r in plan.resources if not r.custom}
    for resource in plan.resources:
        if resource is tier:
            continue
        assert resource.parent in components, f"{resource.type} {resource.name} has parent {resource.parent}"


def test_names_start_with_the_stack_name(plan: PlanResult) -> None:
    assert one(plan, TOP_COMPONENT).name == STACK
    for resource in plan.resources:
        assert resource.name.startswith(STACK), resource.name


def test_variant_names_follow_their_stack(dns_plan: PlanResult) -> None:
    for resource in dns_plan.resources:
        assert resource.name.startswith("single-gpu-dns"), resource.name
    for parameter in of_type(dns_plan, PARAMETER):
        assert parameter.inputs["name"].startswith("/llmscale/single-gpu-dns/")


# --- other stacks ----------------------------------------------------------------------------------------


def test_platform_host_stack_registers_nothing() -> None:
    result = run_program(load_stack("single-gpu-host"), llmscale.program.main)
    assert [r.type for r in result.resources] == ["llmscale:index:SingleGpuTier", "llmscale:index:StackSettings"]
    assert result.invokes == []


def invalid(stack: LoadedStack, key: str, change: Callable[[Any], Any]) -> LoadedStack:
    """The stack with one raw config value changed (as the Pulumi CLI would pass it: JSON text)."""
    config = dict(stack.pulumi_config)
    raw = config.get(key)
    changed = change(json.loads(raw) if raw is not None else None)
    if changed is None:
        config.pop(key, None)
    else:
        config[key] = changed if isinstance(changed, str) else json.dumps(changed)
    return dataclasses.replace(stack, pulumi_config=config)


def _more_replicas(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**models[0], "maxReplicas": 2}]


def _no_cidrs(host: dict[str, Any]) -> dict[str, Any]:
    return {**host, "allowedCidrs": []}


@pytest.mark.parametrize(
    ("key", "change", "named"),
    [
        ("llmscale:models", _more_replicas, "llmscale:models[0].maxReplicas"),
        ("llmscale:host", _no_cidrs, "llmscale:host.allowedCidrs"),
    ],
)
def test_invalid_stack_fails_before_registering_anything(
    monkeypatch: pytest.MonkeyPatch, key: str, change: Callable[[Any], Any], named: str
) -> None:
    monitors: list[RecordingMonitor] = []

    class CapturingMonitor(RecordingMonitor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            monitors.append(self)

    monkeypatch.setattr(runner, "RecordingMonitor", CapturingMonitor)
    with pytest.raises(pulumi.RunError) as caught:
        run_program(invalid(load_stack(STACK), key, change), llmscale.program.main)
    assert named in str(caught.value)
    assert len(monitors) == 1
    assert monitors[0].recorded == []


# --- day 2: a change updates the bundle, never the instance -----------------------------------------------


def cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from llmscale.cli import app

    return CliRunner().invoke(app, list(args))


def test_alert_threshold_change_updates_the_bundle_not_the_instance(variants_dir: Path, tmp_path: Path) -> None:
    """Two real plans (`llmscale plan --json`) before and after an SLO change, compared by `llmscale diff`."""

    def stricter(config: dict[str, Any]) -> None:
        config["llmscale:slo"]["maxErrorRate"] = 0.002

    before, after = tmp_path / "before.json", tmp_path / "after.json"
    for target, path in ((before, resolve_stack(STACK)[1]), (after, write_variant(variants_dir, STACK, stricter))):
        result = cli("plan", str(path), "--json")
        assert result.exit_code == 0, result.output
        target.write_text(result.stdout, encoding="utf-8")
    result = cli("diff", str(before), str(after))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "0 to create, 0 to delete, 0 to replace, 4 to update" in text
    updated = sorted(line.split()[-2] for line in text.splitlines() if line.startswith(" ~ "))
    assert updated == [
        f"{STACK}-bundle-grafana-dashboards-llmscale-json",  # the SLO line on the error panel
        f"{STACK}-bundle-manifest",
        f"{STACK}-bundle-prometheus-rules-llmscale-yml",
        f"{STACK}-settings",
    ]
    assert "llmscale:request_error_ratio:rate5m > 0.002" in text  # the rule's line diff
    assert f"{STACK}-gpu" not in text
    assert "+-" not in text
    # The same through the library: the instance's inputs are identical, user data included.
    old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (before, after))
    instances = [[r for r in doc["resources"] if r["type"] == INSTANCE] for doc in (old, new)]
    assert instances[0] == instances[1]


def test_user_data_is_the_bootstrap_of_the_stack_name_and_region(plan: PlanResult) -> None:
    """`render_bootstrap` takes nothing but the stack's name and region: no config change can reach it."""
    assert user_data(plan) == render_bootstrap(STACK, REGION)
    assert render_bootstrap(STACK, "us-east-1") != user_data(plan)


# --- recovery alarms tell someone --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notified_plan(variants_dir: Path) -> PlanResult:
    def change(config: dict[str, Any]) -> None:
        config["llmscale:host"]["alarmTopicArn"] = TOPIC_ARN

    return plan_variant(variants_dir, "single-gpu-notified", change)


def test_recovery_alarms_notify_the_stack_topic(notified_plan: PlanResult) -> None:
    alarms = {a.inputs["metricName"]: a for a in of_type(notified_plan, ALARM)}
    instance, system = alarms["StatusCheckFailed_Instance"], alarms["StatusCheckFailed_System"]
    assert instance.inputs["alarmActions"] == [f"arn:aws:automate:{REGION}:ec2:reboot", TOPIC_ARN]
    assert system.inputs["alarmActions"] == [TOPIC_ARN]
    for alarm in (instance, system):
        assert alarm.inputs["okActions"] == [TOPIC_ARN]


def test_recovery_alarms_notify_nobody_without_a_topic(plan: PlanResult) -> None:
    alarms = {a.inputs["metricName"]: a for a in of_type(plan, ALARM)}
    assert alarms["StatusCheckFailed_Instance"].inputs["alarmActions"] == [f"arn:aws:automate:{REGION}:ec2:reboot"]
    for alarm in alarms.values():
        assert not alarm.inputs.get("okActions")
    assert not alarms["StatusCheckFailed_System"].inputs.get("alarmActions")  # the restart runs through EventBridge


@pytest.mark.parametrize(
    "bad",
    ["arn:aws:sqs:eu-west-1:123456789012:queue", "arn:aws:sns:eu-west-1:1234:topic", "llm-alarms", ""],
)
def test_alarm_topic_must_be_an_sns_topic_arn(bad: str) -> None:
    from llmscale.config.loader import parse_values

    values = {
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "aws",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:host": {"allowedCidrs": [ALLOWED_CIDR], "alarmTopicArn": bad},
    }
    from llmscale.config.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_values(values, set(), "stacks/Pulumi.bad.yaml")
    assert "llmscale:host.alarmTopicArn: must be an SNS topic ARN" in str(caught.value)


# --- the host's role, with the values AWS fills in (update mode) ------------------------------------------


def test_host_role_reads_its_bundle_and_its_secrets_versions() -> None:
    """llmscale-sync calls ssm:GetParameters on the manifest, the location and every secret (versions only),
    and s3:GetObject under the bundle's prefix; start.sh calls ssm:GetParameter (with decryption) on the secrets."""
    from components.aws.single_host import SingleGpuHost
    from llmscale.aws.host import single_gpu_host_args
    from llmscale.config.loader import parse_values
    from tests.aws_harness import ACCOUNT, run

    values = {
        "aws:region": REGION,
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "aws",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        # A domain: the mocks give the Elastic IP no address to build the endpoint from.
        "llmscale:host": {"allowedCidrs": [ALLOWED_CIDR], "domain": DOMAIN},
        "llmscale:apiKeys": API_KEYS_VALUE,
        "llmscale:hfToken": HF_TOKEN_VALUE,
    }
    parsed, _ = parse_values(values, {"llmscale:apiKeys", "llmscale:hfToken"}, "stacks/Pulumi.h.yaml")
    answers = {
        "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
            "locations": ["eu-west-1a"],
            "locationTypes": ["availability-zone"],
            "instanceTypes": ["g6e.xlarge"],
            "id": "eu-west-1",
        },
        GET_PARAMETER: {"value": "ami-0123456789abcdef0", "name": versions.GPU_AMI_SSM_PARAMETER, "id": "ami"},
    }

    def program() -> None:
        SingleGpuHost("h", single_gpu_host_args(parsed, stack="h", region=REGION, tags={}))

    result = run(program, invokes=answers)
    policies = {p.name: json.loads(p.inputs["policy"]) for p in result.of_type(ROLE_POLICY)}
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}"
    [bucket] = result.of_type(BUCKET)
    assert policies["h-read-bundle"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["ssm:GetParameters"],
            "Resource": sorted(
                f"{arn}:h-{name}" for name in ("api-keys", "hf-token", "bundle-manifest", "bundle-location")
            ),
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": f"arn:aws:s3:::{bucket.inputs['bucketPrefix']}20250101000000000000000001/bundle/*",
        },
    ]
    assert policies["h-read-secrets"]["Statement"][0]["Action"] == ["ssm:GetParameter"]
    assert policies["h-read-secrets"]["Statement"][0]["Resource"] == sorted(
        f"{arn}:h-{n}" for n in ("api-keys", "hf-token")
    )
    # The location llmscale-sync reads: the bucket the objects went into, under the bundle's prefix.
    objects = result.of_type(BUNDLE_OBJECT)
    bucket_name = f"{bucket.inputs['bucketPrefix']}20250101000000000000000001"
    assert {o.inputs["bucket"] for o in objects} == {bucket_name}
    [location] = [p for p in result.of_type(PARAMETER) if p.inputs["name"] == "/llmscale/h/bundle-location"]
    assert location.inputs["insecureValue"] == f"s3://{bucket_name}/bundle"
    assert all(o.inputs["key"].startswith("bundle/") for o in objects)
