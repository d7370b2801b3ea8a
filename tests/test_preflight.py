"""Tests for `llmscale preflight`: real boto3 over real HTTP against moto's server on loopback.

A session fixture starts moto's ThreadedMotoServer on 127.0.0.1 (a free port); each test resets its state and
sets dummy credentials, writes a stack file to tmp_path and runs the command through CliRunner on a fresh Typer
app with only `register(app)` applied. Where moto has no answer (Service Quotas for ec2, EKS versions), the
unknown path is tested against moto and the answering path with botocore's Stubber (no network at all).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
import yaml
from botocore.config import Config
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner, Result

from llmscale.aws.preflight import (
    CHECK_FAILOVER_ZONE,
    CHECK_HOSTED_ZONE,
    CHECK_KUBERNETES,
    CHECK_OFFERING,
    CHECK_QUOTA,
    CHECK_REGION,
    G_AND_VT_QUOTA,
    P_QUOTA,
    AwsClients,
    CheckResult,
    PreflightError,
    Status,
    check_failover_zone,
    check_kubernetes_version,
    check_vcpu_quota,
    failed,
    gpu_demand,
    run_checks,
    vcpu_quota_for,
)
from llmscale.commands.preflight import register
from llmscale.config.errors import ConfigError
from llmscale.config.loader import load_stack, parse_values
from llmscale.config.models import StackConfig
from llmscale.versions import DEFAULT_KUBERNETES_VERSION
from tests.helpers import REPO, write_stack

REGION = "us-east-1"
GPU_TYPE = "g6e.xlarge"
PLANTED_SECRET = "PLANTEDsecretKEY0123456789abcdefDoNotPrint"
EXAMPLE = REPO / "stacks" / "Pulumi.single-gpu.yaml"
HOST_EXAMPLE = REPO / "stacks" / "Pulumi.single-gpu-host.yaml"


# --- moto server and AWS environment --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server on loopback for the whole session; stopped at teardown."""
    werkzeug = logging.getLogger("werkzeug")
    # werkzeug attaches a handler to the stderr of the first request otherwise, which CliRunner closes later.
    quiet = logging.NullHandler()
    werkzeug.addHandler(quiet)
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug.removeHandler(quiet)
        werkzeug.setLevel(level)


def _moto_api(url: str, path: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/{path}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, profiles or instance metadata from the machine running the tests (and no network)."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A fresh moto account with dummy credentials in the environment; the endpoint URL to pass."""
    _no_ambient_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _moto_api(moto_url, "reset")
    return moto_url


@pytest.fixture
def client(aws: str) -> Callable[..., Any]:
    """`client("ec2", region)`: a real boto3 client talking HTTP to moto."""

    def make(service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=aws)

    return make


# --- stacks and the command -----------------------------------------------------------------------------------


def example_config(region: str = REGION, **host: Any) -> dict[str, Any]:
    """The single-gpu example stack's `config:` mapping, moved to `region`, with extra `llmscale:host` keys."""
    config = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["config"]
    config["aws:region"] = region
    config["llmscale:host"] = {**config["llmscale:host"], **host}
    return config


def make_app() -> typer.Typer:
    """A fresh Typer app with only the preflight command registered (a callback keeps it a command group)."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test app."""

    register(app)
    return app


def preflight(stack: Path, *args: str) -> Result:
    return CliRunner().invoke(make_app(), ["preflight", str(stack), *args])


def everything(result: Result) -> str:
    text = result.stdout + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += repr(result.exception)
    return text


def checks(result: Result) -> dict[str, dict[str, str]]:
    """The `--json` document's checks by name."""
    document = json.loads(result.stdout)
    return {check["name"]: check for check in document["checks"]}


def offered_and_not(ec2: Any, instance_type: str) -> tuple[list[str], list[str]]:
    """Ask moto which zones of the client's region offer an instance type and which do not."""
    offered = {
        offer["Location"]
        for offer in ec2.describe_instance_type_offerings(
            LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": [instance_type]}]
        )["InstanceTypeOfferings"]
    }
    zones = {zone["ZoneName"] for zone in ec2.describe_availability_zones()["AvailabilityZones"]}
    return sorted(offered), sorted(zones - offered)


def create_zone(url: str, route53: Any, name: str) -> str:
    """A hosted zone in moto whose id looks like Route 53's (Z...), as llmscale:host.hostedZoneId requires.

    moto draws ids from its seeded random generator; zones are created until one starts with Z, the others
    deleted again. Seeding makes the sequence, and so the test, the same on every run.
    """
    _moto_api(url, "seed?a=7")
    for attempt in range(1000):
        zone_id = route53.create_hosted_zone(Name=name, CallerReference=f"preflight-{attempt}")["HostedZone"]["Id"]
        zone_id = zone_id.rsplit("/", 1)[-1]
        if zone_id.startswith("Z"):
            return zone_id
        route53.delete_hosted_zone(Id=zone_id)
    raise AssertionError("moto never produced a hosted zone id starting with Z")


def load_config(values: dict[str, Any]) -> StackConfig:
    """A StackConfig from `config:` values, secrets marked as such, exactly as the loader validates them."""
    secret = {key for key, value in values.items() if isinstance(value, dict) and "secure" in value}
    plain = {key: ("[secret]" if key in secret else value) for key, value in values.items()}
    config, _ = parse_values(plain, secret, "test")
    return config


def multi_gpu_config(instance_type: str = "p5.48xlarge") -> StackConfig:
    """A multi-gpu stack on AWS: 3 × 2 GPUs + 2 × 1 GPU + a 1-replica canary of 1 GPU = 9 GPUs at most."""
    return load_config(
        {
            "aws:region": REGION,
            "llmscale:tier": "multi-gpu",
            "llmscale:platform": "aws",
            "llmscale:gpu": {"instanceType": instance_type},
            "llmscale:eks": {"publicAccessCidrs": ["203.0.113.0/24"]},
            "llmscale:models": [
                {"name": "big", "model": "org/big", "gpusPerReplica": 2, "minReplicas": 1, "maxReplicas": 3},
                {
                    "name": "small",
                    "model": "org/small",
                    "maxReplicas": 2,
                    "canary": {"image": "vllm/vllm-openai:v0.33.0", "replicas": 1},
                },
            ],
            "llmscale:apiKeys": {"secure": "v1:placeholder"},
        }
    )


# --- the command against moto ---------------------------------------------------------------------------------


def test_all_checks_pass_in_an_offered_zone_with_its_hosted_zone(
    aws: str, client: Callable[..., Any], tmp_path: Path
) -> None:
    offered, _ = offered_and_not(client("ec2"), GPU_TYPE)
    assert offered, f"moto no longer offers {GPU_TYPE} in {REGION}; pick another type or region"
    zone_id = create_zone(aws, client("route53"), "example.com")
    stack = write_stack(
        tmp_path,
        "preflight",
        example_config(availabilityZone=offered[0], domain="llm.example.com", hostedZoneId=zone_id),
    )

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 0, everything(result)
    found = checks(result)
    assert list(found) == [CHECK_REGION, CHECK_OFFERING, CHECK_QUOTA, CHECK_HOSTED_ZONE]
    assert found[CHECK_REGION]["status"] == "pass"
    assert found[CHECK_OFFERING]["status"] == "pass"
    assert offered[0] in found[CHECK_OFFERING]["detail"]
    assert found[CHECK_HOSTED_ZONE]["status"] == "pass"
    assert "example.com" in found[CHECK_HOSTED_ZONE]["detail"]
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["region"] == REGION
    assert document["summary"] == {"pass": 3, "fail": 0, "unknown": 1}
    # The human table goes to stderr, one line per check, status first.
    assert "PASS" in result.stderr
    assert f"{CHECK_OFFERING}" in result.stderr
    assert "Traceback" not in everything(result)


def test_quota_is_unknown_when_service_quotas_cannot_answer(
    aws: str, client: Callable[..., Any], tmp_path: Path
) -> None:
    """moto's Service Quotas knows only vpc quotas: get_service_quota for ec2 answers NoSuchResourceException."""
    offered, _ = offered_and_not(client("ec2"), GPU_TYPE)
    stack = write_stack(tmp_path, "preflight", example_config(availabilityZone=offered[0]))

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 0, everything(result)  # unknown does not fail the run...
    quota = checks(result)[CHECK_QUOTA]
    assert quota["status"] == "unknown"
    assert "NoSuchResourceException" in quota["detail"]
    assert "check by hand" in quota["detail"]
    assert G_AND_VT_QUOTA.code in quota["detail"]
    assert "4 vCPUs" in quota["detail"]
    # ...but it is shown prominently.
    assert "UNKNOWN" in result.stderr
    assert "1 unknown" in result.stderr
    assert "could not be answered" in result.stderr


def test_instance_type_not_offered_in_the_configured_zone_fails(
    aws: str, client: Callable[..., Any], tmp_path: Path
) -> None:
    offered, not_offered = offered_and_not(client("ec2"), GPU_TYPE)
    assert not_offered, f"moto offers {GPU_TYPE} in every zone of {REGION}; pick a rarer type"
    stack = write_stack(tmp_path, "preflight", example_config(availabilityZone=not_offered[0]))

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 1, everything(result)
    offering = checks(result)[CHECK_OFFERING]
    assert offering["status"] == "fail"
    assert not_offered[0] in offering["detail"]
    assert all(zone in offering["detail"] for zone in offered)
    assert json.loads(result.stdout)["ok"] is False
    assert "FAIL" in result.stderr


def test_without_a_pinned_zone_the_offering_zones_are_reported(
    aws: str, client: Callable[..., Any], tmp_path: Path
) -> None:
    offered, _ = offered_and_not(client("ec2"), GPU_TYPE)
    stack = write_stack(tmp_path, "preflight", example_config())

    result = preflight(stack, "--endpoint-url", aws, "--json")

    offering = checks(result)[CHECK_OFFERING]
    assert offering["status"] == "pass", offering
    assert ", ".join(offered) in offering["detail"]
    assert f"goes to {offered[0]}" in offering["detail"]


def test_the_zone_of_the_configured_subnet_is_checked(aws: str, client: Callable[..., Any], tmp_path: Path) -> None:
    ec2 = client("ec2")
    _, not_offered = offered_and_not(ec2, GPU_TYPE)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=not_offered[0])["Subnet"]
    stack = write_stack(tmp_path, "preflight", example_config(subnetId=subnet["SubnetId"]))

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 1, everything(result)
    offering = checks(result)[CHECK_OFFERING]
    assert offering["status"] == "fail"
    assert not_offered[0] in offering["detail"]
    assert subnet["SubnetId"] in offering["detail"]


def test_a_subnet_that_does_not_exist_fails(aws: str, tmp_path: Path) -> None:
    stack = write_stack(tmp_path, "preflight", example_config(subnetId="subnet-0123456789abcdef0"))

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 1, everything(result)
    offering = checks(result)[CHECK_OFFERING]
    assert offering["status"] == "fail"
    assert "does not exist" in offering["detail"]


def test_an_instance_type_ec2_does_not_have_fails_offering_and_quota(aws: str, tmp_path: Path) -> None:
    """A G-family name EC2 does not know: not offered anywhere, and its vCPUs (for the quota) cannot be found."""
    config = example_config()
    config["llmscale:gpu"] = {"instanceType": "g99.xlarge", "gpusPerNode": 1}
    stack = write_stack(tmp_path, "preflight", config)

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 1, everything(result)
    found = checks(result)
    assert found[CHECK_OFFERING]["status"] == "fail"
    assert "not offered in any zone" in found[CHECK_OFFERING]["detail"]
    assert found[CHECK_QUOTA]["status"] == "fail"
    assert "not an EC2 instance type" in found[CHECK_QUOTA]["detail"]


def test_missing_hosted_zone_fails(aws: str, client: Callable[..., Any], tmp_path: Path) -> None:
    offered, _ = offered_and_not(client("ec2"), GPU_TYPE)
    stack = write_stack(
        tmp_path,
        "preflight",
        example_config(availabilityZone=offered[0], domain="llm.example.com", hostedZoneId="Z0123456789ABCDEFGHIJ"),
    )

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 1, everything(result)
    zone = checks(result)[CHECK_HOSTED_ZONE]
    assert zone["status"] == "fail"
    assert "Z0123456789ABCDEFGHIJ" in zone["detail"]
    assert "does not exist" in zone["detail"]


def test_hosted_zone_for_another_domain_fails(aws: str, client: Callable[..., Any], tmp_path: Path) -> None:
    offered, _ = offered_and_not(client("ec2"), GPU_TYPE)
    zone_id = create_zone(aws, client("route53"), "example.org")
    stack = write_stack(
        tmp_path,
        "preflight",
        example_config(availabilityZone=offered[0], domain="llm.example.com", hostedZoneId=zone_id),
    )

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 1, everything(result)
    zone = checks(result)[CHECK_HOSTED_ZONE]
    assert zone["status"] == "fail"
    assert "example.org" in zone["detail"]
    assert "llm.example.com" in zone["detail"]


def test_a_zone_name_that_only_ends_in_the_same_letters_is_not_a_parent(
    aws: str, client: Callable[..., Any], tmp_path: Path
) -> None:
    """`badexample.com` ends with `example.com` as a string but is not inside the zone."""
    offered, _ = offered_and_not(client("ec2"), GPU_TYPE)
    zone_id = create_zone(aws, client("route53"), "example.com")
    stack = write_stack(
        tmp_path,
        "preflight",
        example_config(availabilityZone=offered[0], domain="badexample.com", hostedZoneId=zone_id),
    )

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert checks(result)[CHECK_HOSTED_ZONE]["status"] == "fail"


def test_a_region_the_account_has_not_enabled_fails_and_skips_the_rest(
    aws: str, client: Callable[..., Any], tmp_path: Path
) -> None:
    regions = client("ec2").describe_regions(AllRegions=True)["Regions"]
    opt_in = sorted(entry["RegionName"] for entry in regions if entry.get("OptInStatus") == "not-opted-in")
    assert opt_in, "moto lists no opt-in region that is not enabled"
    stack = write_stack(tmp_path, "preflight", example_config(region=opt_in[0]))

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 1, everything(result)
    found = checks(result)
    assert found[CHECK_REGION]["status"] == "fail"
    assert "not enabled" in found[CHECK_REGION]["detail"]
    assert found[CHECK_OFFERING]["status"] == "unknown"
    assert "not checked" in found[CHECK_OFFERING]["detail"]


def test_credentials_never_appear_in_the_output(aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PLANTED_SECRET)
    stack = write_stack(tmp_path, "preflight", example_config())

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code in (0, 1), everything(result)
    assert PLANTED_SECRET not in everything(result)
    assert "testing" not in everything(result)  # the access key id either


# --- exit 2: config errors, other platforms, credentials --------------------------------------------------------


def test_a_stack_on_another_platform_exits_2(aws: str) -> None:
    result = preflight(HOST_EXAMPLE, "--endpoint-url", aws)

    assert result.exit_code == 2, everything(result)
    assert "preflight checks AWS accounts; platform host has nothing to check" in result.stderr
    assert result.stdout == ""


def test_an_invalid_stack_exits_2_with_the_config_error_lines(aws: str, tmp_path: Path) -> None:
    config = example_config()
    config["llmscale:models"] = [{"name": "chat", "model": "org/model", "minReplicas": 3, "maxReplicas": 2}]
    config["llmscale:gpu"] = {"instanceType": GPU_TYPE, "gpuCout": 1}
    stack = write_stack(tmp_path, "preflight", config)

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 2, everything(result)
    assert result.stdout == ""
    with pytest.raises(ConfigError) as expected:
        load_stack(str(stack))
    assert result.stderr.splitlines() == expected.value.lines()
    assert len(expected.value.lines()) == 2
    assert any(": llmscale:gpu.gpuCout: unknown key" in line for line in expected.value.lines())
    assert any(": llmscale:models[0].maxReplicas: must be >= minReplicas" in line for line in expected.value.lines())
    assert "Traceback" not in everything(result)


def test_missing_credentials_exit_2_with_a_hint(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _no_ambient_aws(monkeypatch, tmp_path)
    stack = write_stack(tmp_path, "preflight", example_config())

    result = preflight(stack, "--endpoint-url", moto_url)

    assert result.exit_code == 2, everything(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "NoCredentialsError" in lines[0]
    assert "AWS_PROFILE" in lines[0]
    assert "Traceback" not in everything(result)


def test_an_invalid_endpoint_url_exits_2(aws: str, tmp_path: Path) -> None:
    stack = write_stack(tmp_path, "preflight", example_config())

    result = preflight(stack, "--endpoint-url", "not a url")

    assert result.exit_code == 2, everything(result)
    assert "--endpoint-url" in result.stderr


def test_an_unreachable_endpoint_aborts_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Connection refused on a closed loopback port: PreflightError, not a traceback (one attempt, no retries)."""
    import socket

    _no_ambient_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    once = Config(retries={"mode": "standard", "max_attempts": 1})
    url = f"http://127.0.0.1:{port}"
    clients = AwsClients(
        ec2=boto3.client("ec2", region_name=REGION, endpoint_url=url, config=once),
        service_quotas=boto3.client("service-quotas", region_name=REGION, endpoint_url=url, config=once),
        route53=boto3.client("route53", region_name=REGION, endpoint_url=url, config=once),
    )

    with pytest.raises(PreflightError, match="cannot reach"):
        run_checks(load_config(example_config()), REGION, clients)


# --- the vCPU quota: demand, families, and answers moto cannot give (Stubber) ------------------------------------


def test_gpu_demand_single_gpu_is_one_instance() -> None:
    demand = gpu_demand(load_config(example_config()))
    assert (demand.max_gpus, demand.instances, demand.vcpus) == (1, 1, 4)


def test_gpu_demand_multi_gpu_counts_every_profile_at_max_with_canaries() -> None:
    demand = gpu_demand(multi_gpu_config("p5.48xlarge"))
    assert demand.max_gpus == 3 * 2 + (2 + 1) * 1
    assert demand.instances == 2  # ceil(9 / 8)
    assert demand.vcpus == 2 * 192


def test_gpu_demand_on_single_gpu_nodes_is_one_node_per_gpu() -> None:
    with pytest.raises(ConfigError, match="gpusPerReplica"):
        # 2-GPU replicas cannot run on 1-GPU nodes: the config refuses it before any sizing happens.
        multi_gpu_config("g6e.xlarge")
    demand = gpu_demand(multi_gpu_config("g6e.12xlarge"))
    assert (demand.max_gpus, demand.instances, demand.vcpus) == (9, 3, 3 * 48)


@pytest.mark.parametrize(
    ("instance_type", "quota"),
    [
        ("g6e.xlarge", G_AND_VT_QUOTA),
        ("g4dn.12xlarge", G_AND_VT_QUOTA),
        ("vt1.3xlarge", G_AND_VT_QUOTA),
        ("p5.48xlarge", P_QUOTA),
        ("p4de.24xlarge", P_QUOTA),
        ("inf2.xlarge", None),
        ("trn1.2xlarge", None),
    ],
)
def test_vcpu_quota_for_family(instance_type: str, quota: object) -> None:
    assert vcpu_quota_for(instance_type) == quota


def _quota_answer(code: str, value: float) -> dict[str, Any]:
    return {"Quota": {"ServiceCode": "ec2", "QuotaCode": code, "QuotaName": "quota", "Value": value}}


@pytest.mark.parametrize(("limit", "status"), [(4.0, Status.PASS), (3.0, Status.FAIL), (0.0, Status.FAIL)])
def test_single_gpu_quota_threshold(limit: float, status: Status) -> None:
    """4 vCPUs for one g6e.xlarge: a quota of exactly 4 passes, anything less fails with the increase command."""
    quotas = boto3.client("service-quotas", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(quotas) as stub:
        stub.add_response(
            "get_service_quota",
            _quota_answer(G_AND_VT_QUOTA.code, limit),
            {"ServiceCode": "ec2", "QuotaCode": G_AND_VT_QUOTA.code},
        )
        result = check_vcpu_quota(quotas, None, load_config(example_config()), REGION)
        stub.assert_no_pending_responses()
    assert result.status is status, result
    assert "needs 4 vCPUs" in result.detail
    if status is Status.FAIL:
        assert "request-service-quota-increase" in result.detail
        assert "--desired-value 4" in result.detail


@pytest.mark.parametrize(("limit", "status"), [(384.0, Status.PASS), (383.0, Status.FAIL)])
def test_multi_gpu_quota_threshold_uses_the_p_quota(limit: float, status: Status) -> None:
    quotas = boto3.client("service-quotas", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(quotas) as stub:
        stub.add_response(
            "get_service_quota", _quota_answer(P_QUOTA.code, limit), {"ServiceCode": "ec2", "QuotaCode": P_QUOTA.code}
        )
        result = check_vcpu_quota(quotas, None, multi_gpu_config(), REGION)
    assert result.status is status, result
    assert "needs 384 vCPUs" in result.detail
    assert "9 GPUs" in result.detail


@pytest.mark.parametrize("code", ["AccessDeniedException", "NoSuchResourceException", "ServiceException"])
def test_quota_api_errors_are_unknown_with_a_manual_check(code: str) -> None:
    quotas = boto3.client("service-quotas", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(quotas) as stub:
        stub.add_client_error("get_service_quota", service_error_code=code, http_status_code=400)
        result = check_vcpu_quota(quotas, None, load_config(example_config()), REGION)
    assert result.status is Status.UNKNOWN
    assert code in result.detail
    assert "aws service-quotas get-service-quota" in result.detail


def test_rejected_credentials_abort_instead_of_unknown() -> None:
    quotas = boto3.client("service-quotas", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(quotas) as stub:
        stub.add_client_error("get_service_quota", service_error_code="UnrecognizedClientException")
        with pytest.raises(PreflightError, match="rejected the credentials"):
            check_vcpu_quota(quotas, None, load_config(example_config()), REGION)


def test_a_family_without_a_known_quota_is_unknown() -> None:
    config = example_config()
    config["llmscale:gpu"] = {"instanceType": "inf2.xlarge", "gpusPerNode": 1}
    result = check_vcpu_quota(None, None, load_config(config), REGION)
    assert result.status is Status.UNKNOWN
    assert "inf2.xlarge" in result.detail


# --- Kubernetes version -----------------------------------------------------------------------------------------


def test_kubernetes_version_falls_back_to_the_calendar_when_eks_cannot_answer(client: Callable[..., Any]) -> None:
    """moto has no describe_cluster_versions (404): the built-in calendar answers, and the detail says so."""
    eks = client("eks")
    result = check_kubernetes_version("1.33", eks, today=date(2026, 5, 1))
    assert result == CheckResult(CHECK_KUBERNETES, Status.PASS, result.detail)
    assert "standard support until 2026-07-29" in result.detail
    assert "built-in EKS calendar" in result.detail
    assert "404" in result.detail


@pytest.mark.parametrize(
    ("version", "today", "status", "words"),
    [
        ("1.33", date(2026, 7, 29), Status.PASS, "standard support"),
        ("1.33", date(2026, 7, 30), Status.PASS, "extended support"),
        ("1.33", date(2027, 7, 30), Status.FAIL, "left EKS extended support"),
        ("1.28", date(2026, 1, 1), Status.FAIL, "past EKS extended support"),
        ("1.99", date(2026, 1, 1), Status.UNKNOWN, "newer than"),
        ("v1.33", date(2026, 1, 1), Status.FAIL, "not a Kubernetes minor version"),
        ("1.33.2", date(2026, 1, 1), Status.FAIL, "not a Kubernetes minor version"),
    ],
)
def test_kubernetes_version_calendar(
    client: Callable[..., Any], version: str, today: date, status: Status, words: str
) -> None:
    result = check_kubernetes_version(version, client("eks"), today=today)
    assert result.status is status, result
    assert words in result.detail


def _eks_answer(version: str, version_status: str) -> dict[str, Any]:
    return {
        "clusterVersions": [
            {
                "clusterVersion": version,
                "versionStatus": version_status,
                "endOfStandardSupportDate": datetime(2026, 7, 29, tzinfo=UTC),
                "endOfExtendedSupportDate": datetime(2027, 7, 29, tzinfo=UTC),
            }
        ]
    }


@pytest.mark.parametrize(
    ("version_status", "status", "words"),
    [
        ("STANDARD_SUPPORT", Status.PASS, "standard support until 2026-07-29"),
        ("EXTENDED_SUPPORT", Status.PASS, "extended support until 2027-07-29"),
        ("UNSUPPORTED", Status.FAIL, "no longer supported"),
    ],
)
def test_kubernetes_version_from_the_eks_api(version_status: str, status: Status, words: str) -> None:
    eks = boto3.client("eks", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(eks) as stub:
        stub.add_response(
            "describe_cluster_versions",
            _eks_answer("1.33", version_status),
            {"clusterVersions": ["1.33"], "includeAll": True},
        )
        result = check_kubernetes_version("1.33", eks, today=date(2030, 1, 1))
    assert result.status is status, result
    assert words in result.detail
    assert "built-in" not in result.detail  # the API answered; the calendar (which would say FAIL in 2030) did not


def test_kubernetes_version_eks_does_not_offer() -> None:
    eks = boto3.client("eks", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(eks) as stub:
        stub.add_response("describe_cluster_versions", {"clusterVersions": []})
        result = check_kubernetes_version("1.34", eks)
    assert result.status is Status.FAIL
    assert "does not offer" in result.detail


def test_run_checks_adds_the_kubernetes_check_when_given_a_version(client: Callable[..., Any]) -> None:
    clients = AwsClients(
        ec2=client("ec2"), service_quotas=client("service-quotas"), route53=client("route53"), eks=client("eks")
    )
    results = run_checks(multi_gpu_config(), REGION, clients, kubernetes_version="1.35")
    names = [result.name for result in results]
    assert names == [CHECK_REGION, CHECK_OFFERING, CHECK_QUOTA, CHECK_KUBERNETES]
    offering = results[1]
    assert offering.status is Status.PASS
    assert "any of them" in offering.detail


# --- every documented check, both regions of an enterprise stack, the failover zone ------------------------------

STANDBY = "us-west-2"
ENTERPRISE_EXAMPLE = REPO / "stacks" / "Pulumi.enterprise.yaml"


def enterprise_config(zone_id: str, record_name: str = "llm.example.com") -> dict[str, Any]:
    """The enterprise example moved to us-east-1 with its standby in us-west-2, failing over in `zone_id`."""
    config = yaml.safe_load(ENTERPRISE_EXAMPLE.read_text(encoding="utf-8"))["config"]
    config["aws:region"] = REGION
    config["llmscale:failover"] = {
        **config["llmscale:failover"],
        "hostedZoneId": zone_id,
        "recordName": record_name,
        "standbyRegion": STANDBY,
    }
    return config


def by_region(result: Result) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(check["name"], check["region"]): check for check in json.loads(result.stdout)["checks"]}


def test_an_enterprise_stack_is_checked_in_both_regions_and_its_failover_zone(
    aws: str, client: Callable[..., Any], tmp_path: Path
) -> None:
    zone_id = create_zone(aws, client("route53"), "example.com")
    stack = write_stack(tmp_path, "preflight", enterprise_config(zone_id))

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code in (0, 1), everything(result)
    found = by_region(result)
    for region in (REGION, STANDBY):
        for name in (CHECK_REGION, CHECK_OFFERING, CHECK_QUOTA, CHECK_KUBERNETES):
            assert (name, region) in found, (name, region, sorted(found))
        assert found[(CHECK_REGION, region)]["status"] == "pass"
    assert found[(CHECK_FAILOVER_ZONE, None)]["status"] == "pass"
    assert "llm.example.com" in found[(CHECK_FAILOVER_ZONE, None)]["detail"]
    # EKS versions are not in moto: the built-in calendar answers, and says so.
    assert "calendar" in found[(CHECK_KUBERNETES, REGION)]["detail"]
    document = json.loads(result.stdout)
    assert (document["region"], document["standbyRegion"]) == (REGION, STANDBY)
    assert f"regions {REGION} and {STANDBY} (standby)" in result.stderr


def test_a_multi_gpu_stack_gets_the_kubernetes_version_check(aws: str, tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "stacks" / "Pulumi.multi-gpu.yaml").read_text(encoding="utf-8"))["config"]
    config["aws:region"] = REGION
    stack = write_stack(tmp_path, "preflight", config)

    result = preflight(stack, "--endpoint-url", aws, "--json")

    found = checks(result)
    assert list(found) == [CHECK_REGION, CHECK_OFFERING, CHECK_QUOTA, CHECK_KUBERNETES]
    assert found[CHECK_KUBERNETES]["status"] in ("pass", "fail")
    assert f"Kubernetes {DEFAULT_KUBERNETES_VERSION}" in found[CHECK_KUBERNETES]["detail"]


def test_a_missing_failover_zone_fails(aws: str, tmp_path: Path) -> None:
    stack = write_stack(tmp_path, "preflight", enterprise_config("Z0123456789ABCDEFGHIJ"))

    result = preflight(stack, "--endpoint-url", aws, "--json")

    assert result.exit_code == 1, everything(result)
    check = by_region(result)[(CHECK_FAILOVER_ZONE, None)]
    assert check["status"] == "fail" and "does not exist" in check["detail"]


def test_a_failover_zone_for_another_domain_fails(aws: str, client: Callable[..., Any], tmp_path: Path) -> None:
    zone_id = create_zone(aws, client("route53"), "example.org")
    stack = write_stack(tmp_path, "preflight", enterprise_config(zone_id, "llm.example.com"))

    result = preflight(stack, "--endpoint-url", aws, "--json")

    check = by_region(result)[(CHECK_FAILOVER_ZONE, None)]
    assert check["status"] == "fail" and "cannot hold llm.example.com" in check["detail"]


def test_a_private_failover_zone_fails() -> None:
    route53 = boto3.client("route53", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    config = load_config(enterprise_config("Z0123456789ABCDEFGHIJ"))
    with Stubber(route53) as stub:
        stub.add_response(
            "get_hosted_zone",
            {
                "HostedZone": {
                    "Id": "/hostedzone/Z0123456789ABCDEFGHIJ",
                    "Name": "example.com.",
                    "CallerReference": "x",
                    "Config": {"PrivateZone": True},
                },
                "DelegationSet": {"NameServers": ["ns-1.example.com"]},
            },
            {"Id": "Z0123456789ABCDEFGHIJ"},
        )
        result = check_failover_zone(route53, config)
    assert result is not None and result.status is Status.FAIL
    assert "is private" in result.detail


def test_an_unknown_region_is_a_failure_without_asking_aws() -> None:
    def unusable(*_: Any, **__: Any) -> Any:
        raise AssertionError("no AWS call for a region pulumi-aws does not know")

    clients = AwsClients(ec2=unusable, service_quotas=unusable, route53=unusable)
    results = run_checks(load_config(example_config()), "mars-1", clients)
    assert results[0].name == CHECK_REGION and results[0].status is Status.FAIL
    assert "not an AWS region pulumi-aws knows" in results[0].detail
    assert all(r.status is Status.UNKNOWN for r in results[1:])
    assert failed(results)
