"""Generate llmscale/plan/replacements/replace_on_change.json: which property changes replace a resource.

`llmscale diff` must say "replace" where `pulumi up` would replace, so the knowledge comes from the providers'
source at the versions the pinned SDKs bridge, not from memory:

- pulumi-aws bridges terraform-provider-aws: an input whose Terraform schema says `ForceNew: true` (SDKv2
  resources) or carries a `RequiresReplace` plan modifier (Plugin Framework resources) replaces the resource.
  pulumi-terraform-bridge copies that flag into the Pulumi schema as `willReplaceOnChanges`
  (pulumi/pulumi-terraform-bridge pkg/tfgen/generate.go, `variable.forceNew`). Since pulumi-aws 7 every
  regional resource also takes a `region` input whose change forces replacement (pulumi/pulumi-aws
  docs/enhanced-region-support.md, "How region works").
- pulumi-kubernetes replaces an object when a field in its `forceNew` table changes
  (pulumi/pulumi-kubernetes provider/pkg/provider/diff.go), and a Helm release when its `name` or `namespace`
  changes (provider/pkg/provider/helm_release.go, `Diff`).
- Providers themselves: pulumi-aws marks the `region` config `ForcesProviderReplace`
  (pulumi/pulumi-aws provider/resources.go); pulumi-kubernetes' `DiffConfig` replaces the provider when the
  active cluster changes (`kubeconfig`, `context`, `cluster`, also when any of them is unknown),
  `clusterIdentifier` changes or `renderYamlToDirectory` changes. A replaced provider replaces every resource
  it manages (pulumi/pulumi pkg/resource/deploy/step_generator.go, `providerChanged`).

Terraform names become Pulumi names the way the bridge names them: camelCase, plural for lists that are not
`MaxItems: 1`, blocks of `MaxItems: 1` flattened to an object. Rather than re-implement the bridge's
inflection, every name is resolved against the installed pulumi_aws SDK (its `*Args` classes carry each
property's Pulumi name and type), which also checks that the source read matches the SDK's schema: SDK inputs
the source does not have are listed as `unverified` in the table.

Usage (the checkouts may be full clones at the bridged tags, or directories holding just the files named in
TYPES at their upstream paths):

    python scripts/replace_table.py --terraform-provider-aws DIR --pulumi-kubernetes DIR \\
        --provenance provenance.json [--out llmscale/plan/replacements/replace_on_change.json] [--merge]

`provenance.json` maps each upstream path read to {"repository", "commit"} and is copied into the table.
`--merge` keeps the entries already in the table at `--out` and adds (or, with `--types`, rewrites) only those of
this run, so that a type the program starts to register can be added from a checkout of its own file without
the checkouts every other entry was read from; each entry's `source` keeps naming the file and commit it
came from.

The table: `types` maps each Pulumi type to its `source` (repository, path, commit) and `replaceOnChanges`, a list
of rules. A rule's `path` is a Pulumi property path (`[*]` for any list element); a change at or below it (or a
change of an object holding it) replaces the resource. A rule may carry `condition` (upstream replaces only
sometimes) and `when`, alternatives the diff can evaluate, any of which makes the rule apply:
`{"input": NAME, "equals": V}` (the resource's new input), `{"providerConfig": KEY, "notEquals": V}` (its
provider's config, missing counts as not equal) or `{"old": V, "new": W}` (the property's own values). A rule
with a condition and no `when` means "possibly replaced". `unknownReplaces` marks a provider input whose unknown
value replaces the provider. `unverified` lists SDK inputs the source read does not define.

`recomputedOutputs` lists outputs an update in place renews: Terraform's `customdiff.ComputedIf` leaves them
unknown in the plan when the resource changes (aws_launch_template `latest_version`: every update is a new
template version), so what reads them changes too (a node group's `launchTemplate.version`). `unlessOnly` names
the top-level inputs whose change alone renews nothing, `when` the alternatives that must hold; an entry with a
`condition` instead is a rule the generator could not read: any change may renew the output.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "llmscale" / "plan" / "replacements" / "replace_on_change.json"
FORMAT_VERSION = 1

# Pulumi type → Terraform resource type of terraform-provider-aws (pulumi-aws maps them in provider/resources.go, and
# in provider/resource_overrides.go since the overrides moved there) and the file that defines it.
AWS_TYPES: dict[str, tuple[str, str]] = {
    "aws:acm/certificate:Certificate": ("aws_acm_certificate", "internal/service/acm/certificate.go"),
    "aws:acm/certificateValidation:CertificateValidation": (
        "aws_acm_certificate_validation",
        "internal/service/acm/certificate_validation.go",
    ),
    "aws:cloudwatch/eventRule:EventRule": ("aws_cloudwatch_event_rule", "internal/service/events/rule.go"),
    "aws:cloudwatch/eventTarget:EventTarget": ("aws_cloudwatch_event_target", "internal/service/events/target.go"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "aws_cloudwatch_metric_alarm",
        "internal/service/cloudwatch/metric_alarm.go",
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": (
        "aws_default_security_group",
        "internal/service/ec2/vpc_default_security_group.go",
    ),
    "aws:ec2/eip:Eip": ("aws_eip", "internal/service/ec2/ec2_eip.go"),
    "aws:ec2/instance:Instance": ("aws_instance", "internal/service/ec2/ec2_instance.go"),
    "aws:ec2/internetGateway:InternetGateway": ("aws_internet_gateway", "internal/service/ec2/vpc_internet_gateway.go"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("aws_launch_template", "internal/service/ec2/ec2_launch_template.go"),
    "aws:ec2/natGateway:NatGateway": ("aws_nat_gateway", "internal/service/ec2/vpc_nat_gateway.go"),
    "aws:ec2/routeTable:RouteTable": ("aws_route_table", "internal/service/ec2/vpc_route_table.go"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (
        "aws_route_table_association",
        "internal/service/ec2/vpc_route_table_association.go",
    ),
    "aws:ec2/securityGroup:SecurityGroup": ("aws_security_group", "internal/service/ec2/vpc_security_group.go"),
    "aws:ec2/subnet:Subnet": ("aws_subnet", "internal/service/ec2/vpc_subnet.go"),
    "aws:ec2/vpc:Vpc": ("aws_vpc", "internal/service/ec2/vpc_.go"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("aws_vpc_endpoint", "internal/service/ec2/vpc_endpoint.go"),
    "aws:eks/accessEntry:AccessEntry": ("aws_eks_access_entry", "internal/service/eks/access_entry.go"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        "aws_eks_access_policy_association",
        "internal/service/eks/access_policy_association.go",
    ),
    "aws:eks/addon:Addon": ("aws_eks_addon", "internal/service/eks/addon.go"),
    "aws:eks/cluster:Cluster": ("aws_eks_cluster", "internal/service/eks/cluster.go"),
    "aws:eks/nodeGroup:NodeGroup": ("aws_eks_node_group", "internal/service/eks/node_group.go"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "aws_eks_pod_identity_association",
        "internal/service/eks/pod_identity_association.go",
    ),
    "aws:iam/instanceProfile:InstanceProfile": ("aws_iam_instance_profile", "internal/service/iam/instance_profile.go"),
    "aws:iam/role:Role": ("aws_iam_role", "internal/service/iam/role.go"),
    "aws:iam/rolePolicy:RolePolicy": ("aws_iam_role_policy", "internal/service/iam/role_policy.go"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        "aws_iam_role_policy_attachment",
        "internal/service/iam/role_policy_attachment.go",
    ),
    "aws:kms/key:Key": ("aws_kms_key", "internal/service/kms/key.go"),
    "aws:route53/healthCheck:HealthCheck": ("aws_route53_health_check", "internal/service/route53/health_check.go"),
    "aws:route53/record:Record": ("aws_route53_record", "internal/service/route53/record.go"),
    "aws:s3/bucket:Bucket": ("aws_s3_bucket", "internal/service/s3/bucket.go"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "aws_s3_bucket_lifecycle_configuration",
        "internal/service/s3/bucket_lifecycle_configuration.go",
    ),
    # `aws_s3_object`, not `aws_s3_bucket_object` (internal/service/s3/bucket_object.go), which pulumi-aws maps to
    # the older `aws:s3/bucketObject:BucketObject`.
    "aws:s3/bucketObjectv2:BucketObjectv2": ("aws_s3_object", "internal/service/s3/object.go"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (
        "aws_s3_bucket_ownership_controls",
        "internal/service/s3/bucket_ownership_controls.go",
    ),
    "aws:s3/bucketPolicy:BucketPolicy": ("aws_s3_bucket_policy", "internal/service/s3/bucket_policy.go"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "aws_s3_bucket_public_access_block",
        "internal/service/s3/bucket_public_access_block.go",
    ),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": (
        "aws_s3_bucket_replication_configuration",
        "internal/service/s3/bucket_replication_configuration.go",
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration",
        "internal/service/s3/bucket_server_side_encryption_configuration.go",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": (
        "aws_s3_bucket_versioning",
        "internal/service/s3/bucket_versioning.go",
    ),
    "aws:scheduler/schedule:Schedule": ("aws_scheduler_schedule", "internal/service/scheduler/schedule.go"),
    "aws:ssm/parameter:Parameter": ("aws_ssm_parameter", "internal/service/ssm/parameter.go"),
}

# Conditions the diff can evaluate, for Terraform CustomizeDiff rules that force replacement only sometimes.
# Keyed by (Terraform resource, attribute); each condition names the input (or provider config) it reads.
KNOWN_CONDITIONS: dict[tuple[str, str], list[dict[str, Any]]] = {
    # aws_instance: `customdiff.ForceNewIf("user_data", ...)` reads `user_data_replace_on_change`.
    ("aws_instance", "user_data"): [{"input": "userDataReplaceOnChange", "equals": True}],
    ("aws_instance", "user_data_base64"): [{"input": "userDataReplaceOnChange", "equals": True}],
    # aws_ssm_parameter: `customdiff.ForceNewIfChange("tier", …)` when going from Advanced to Standard.
    ("aws_ssm_parameter", "tier"): [{"old": "Advanced", "new": "Standard"}],
}

# Terraform attributes pulumi-aws gives another Pulumi name (provider/resources.go, the resource's `Fields`), as
# python names of the SDK; the bridge's own inflection covers the rest.
RENAMES: dict[tuple[str, str], str] = {
    ("aws_cloudwatch_metric_alarm", "alarm_name"): "name",  # tfbridge.AutoName("name", 255, "-")
}

# pulumi-kubernetes: Kubernetes kinds whose objects llmscale registers, beyond those with their own rules.
# Custom resources (CRDs) get only the identity rule: `forceNew` lists built-in kinds only.
K8S_PROVIDER_CONFIG_DEFAULT_NOTE = (
    "pulumi-kubernetes Configure: enableConfigMapMutable and enableSecretMutable default to false"
)


# --- a small Go scanner: enough to walk composite literals ------------------------------------------------


def _skip_string(text: str, i: int) -> int:
    """Index after the Go string, raw string or rune literal starting at text[i]."""
    quote = text[i]
    if quote == "`":
        end = text.find("`", i + 1)
        return len(text) if end < 0 else end + 1
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    return j


def _skip_comment(text: str, i: int) -> int:
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    return i


def matching_brace(text: str, i: int) -> int:
    """Index of the bracket closing the one at text[i] (`{`, `(` or `[`), skipping strings and comments."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = [pairs[text[i]]]
    j = i + 1
    while j < len(text) and stack:
        char = text[j]
        if char in "\"'`":
            j = _skip_string(text, j)
            continue
        if text.startswith("//", j) or text.startswith("/*", j):
            j = _skip_comment(text, j)
            continue
        if char in pairs:
            stack.append(pairs[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return j
        j += 1
    raise ValueError(f"unbalanced bracket at offset {i}")


def split_top_level(body: str, separator: str = ",") -> list[str]:
    """The parts of `body` between top-level separators (not inside brackets, strings or comments)."""
    parts: list[str] = []
    start, j, depth = 0, 0, 0
    while j < len(body):
        char = body[j]
        if char in "\"'`":
            j = _skip_string(body, j)
            continue
        if body.startswith("//", j) or body.startswith("/*", j):
            end = _skip_comment(body, j)
            body = body[:j] + " " * (end - j) + body[end:]  # comments count as blank
            j = end
            continue
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(body[start:j])
            start = j + 1
        j += 1
    parts.append(body[start:])
    return [part.strip() for part in parts if part.strip()]


def key_value(entry: str) -> tuple[str, str] | None:
    """`KEY: VALUE` split at the first top-level colon (None when there is none)."""
    j, depth = 0, 0
    while j < len(entry):
        char = entry[j]
        if char in "\"'`":
            j = _skip_string(entry, j)
            continue
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif char == ":" and depth == 0:
            return entry[:j].strip(), entry[j + 1 :].strip()
        j += 1
    return None


def literal_body(value: str, opener: str) -> str | None:
    """The text inside the first `{...}` after `opener` in `value` (None when `opener` is not there)."""
    at = value.find(opener)
    if at < 0:
        return None
    brace = value.index("{", at + len(opener) - 1)
    return value[brace + 1 : matching_brace(value, brace)]


# --- Terraform schemas -----------------------------------------------------------------------------------


@dataclass
class Attribute:
    """One Terraform attribute or block: what the replace table needs to know about it."""

    name: str
    force_new: bool = False
    computed_only: bool = False
    is_list: bool = False
    max_items_one: bool = False
    children: dict[str, Attribute] = field(default_factory=dict)
    replace_condition: str | None = None  # RequiresReplaceIf… / CustomizeDiff ForceNewIf…


class GoSource:
    """The Go files of one upstream package directory, with the constants and helper functions they define."""

    def __init__(self, files: dict[str, str], constants: dict[str, str]) -> None:
        self.files = files
        self.constants = constants
        self.unresolved: list[str] = []
        self.derived: dict[str, str] = {}

    def text(self) -> str:
        """All files, concatenated."""
        return "\n".join(self.files.values())

    def key(self, raw: str) -> str | None:
        """A map key as a Terraform attribute name: a string literal or a `names.Attr…` constant."""
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"'):
            return json.loads(raw)
        name = raw.split(".")[-1]
        if name in self.constants:
            return self.constants[name]
        if raw.startswith("names.Attr"):
            # A constant newer than the names/ file read: its value follows the generator's naming rule.
            self.derived[raw] = derive_attr_name(name)
            return self.derived[raw]
        self.unresolved.append(raw)
        return None

    def function_body(self, name: str) -> str | None:
        """The body of `func name(...)` or the value of `var name = ...` defined in this package."""
        for text in self.files.values():
            match = re.search(rf"\bfunc {re.escape(name)}\(\)[^{{]*{{", text)
            if match:
                brace = match.end() - 1
                return text[brace + 1 : matching_brace(text, brace)]
            match = re.search(rf"(?:\bvar|^\s*) ?{re.escape(name)}\s*=\s*", text, re.M)
            if match:
                rest = text[match.end() :]
                brace = rest.find("{")
                return rest[: matching_brace(rest, brace) + 1] if brace >= 0 else None
        return None


_INITIALISMS = (
    "ARNs",
    "ARN",
    "CIDR",
    "IDs",
    "ID",
    "IAM",
    "KMS",
    "VPC",
    "DNS",
    "IOPS",
    "IPv4",
    "IPv6",
    "IP",
    "JSON",
    "S3",
    "SNS",
    "URI",
    "URL",
)


def derive_attr_name(constant: str) -> str:
    """`AttrLaunchTemplate` → `launch_template`, `AttrSubnetIDs` → `subnet_ids`: how names/ spells attributes
    (internal/generate/attrconsts: the constant is the attribute in CamelCase with AWS initialisms upper-case)."""
    words: list[str] = []
    rest = constant.removeprefix("Attr")
    while rest:
        initialism = next(
            (i for i in _INITIALISMS if rest.startswith(i) and not rest[len(i) : len(i) + 1].islower()), None
        )
        if initialism:
            words.append(initialism.lower())
            rest = rest[len(initialism) :]
            continue
        match = re.match(r"[A-Z0-9][a-z0-9]*", rest)
        if match is None:
            break
        words.append(match.group(0).lower())
        rest = rest[match.end() :]
    return "_".join(words)


def _field(fields: dict[str, str], name: str) -> str:
    return fields.get(name, "").strip()


def parse_sdk_schema_map(body: str, source: GoSource) -> dict[str, Attribute]:
    """Attributes of a `map[string]*schema.Schema{...}` literal body (SDKv2)."""
    attributes: dict[str, Attribute] = {}
    for entry in split_top_level(body):
        pair = key_value(entry)
        if pair is None:
            continue
        name = source.key(pair[0])
        if name is None:
            continue
        value = pair[1]
        if not value.startswith("{"):
            resolved = _resolve_call(value, source)
            if resolved is None or not resolved.lstrip().startswith(("{", "&schema.Schema{")):
                # Helpers such as tftags.TagsSchema() are never ForceNew; …Computed() ones are outputs only.
                computed = bool(re.search(r"Computed\(\)$", value)) and "Optional" not in value
                attributes[name] = Attribute(name, computed_only=computed)
                continue
            value = resolved.strip().removeprefix("&schema.Schema")
        attributes[name] = parse_sdk_attribute(name, value[1 : matching_brace(value, 0)], source)
    return attributes


def _resolve_call(value: str, source: GoSource) -> str | None:
    """The literal returned by a same-package helper: `name()` or `name` → its `return ...` value."""
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(\(\))?", value.strip())
    if not match:
        return None
    body = source.function_body(match.group(1))
    if body is None:
        source.unresolved.append(value.strip())
        return None
    returned = re.search(r"\breturn\s+", body)
    return body[returned.end() :] if returned else body


def parse_sdk_attribute(name: str, body: str, source: GoSource) -> Attribute:
    """One `{Type: ..., ForceNew: true, Elem: ...}` schema literal body."""
    fields: dict[str, str] = {}
    for entry in split_top_level(body):
        pair = key_value(entry)
        if pair:
            fields[pair[0]] = pair[1]
    kind = _field(fields, "Type")
    attribute = Attribute(
        name=name,
        force_new=_field(fields, "ForceNew") == "true",
        computed_only=_field(fields, "Computed") == "true"
        and _field(fields, "Optional") != "true"
        and _field(fields, "Required") != "true",
        is_list=kind.endswith(("TypeList", "TypeSet")),
        max_items_one=_field(fields, "MaxItems") == "1",
    )
    elem = _field(fields, "Elem")
    if elem:
        nested = literal_body(elem, "schema.Resource{")
        if nested is None and not elem.startswith("&schema.Schema"):
            resolved = _resolve_call(elem.lstrip("&"), source)
            nested = literal_body(resolved, "schema.Resource{") if resolved else None
            if nested is None and resolved is not None:
                inner = literal_body(resolved, "map[string]*schema.Schema{")
                attribute.children = parse_sdk_schema_map(inner, source) if inner is not None else {}
        if nested is not None:
            schema_value = _field({k: v for k, v in map(_pair, split_top_level(nested)) if k}, "Schema")
            inner = literal_body(schema_value, "map[string]*schema.Schema{")
            if inner is None and schema_value:
                resolved = _resolve_call(schema_value, source)
                inner = literal_body(resolved, "map[string]*schema.Schema{") if resolved else None
            if inner is not None:
                attribute.children = parse_sdk_schema_map(inner, source)
    return attribute


def _pair(entry: str) -> tuple[str, str]:
    pair = key_value(entry)
    return pair if pair else ("", "")


_REPLACE_MODIFIER = re.compile(r"\b\w+planmodifier\.(RequiresReplace(?:IfConfigured)?|RequiresReplaceIf\w*)\(")


def parse_framework_attributes(body: str, source: GoSource) -> dict[str, Attribute]:
    """Attributes of a `map[string]schema.Attribute{...}` literal body (Plugin Framework)."""
    attributes: dict[str, Attribute] = {}
    for entry in split_top_level(body):
        pair = key_value(entry)
        if pair is None:
            continue
        name = source.key(pair[0])
        if name is None:
            continue
        value = pair[1]
        brace = value.find("{")
        if brace < 0:
            # Helpers: framework.IDAttribute(), tftags.TagsAttribute(), …ComputedOnly(): never replace-forcing.
            attributes[name] = Attribute(name, computed_only=bool(re.search(r"(Computed\w*|IDAttribute)\(\)$", value)))
            continue
        own = value[brace + 1 : matching_brace(value, brace)]
        nested_at = own.find("NestedObject:")
        top = own[:nested_at] if nested_at >= 0 else own
        modifier = _REPLACE_MODIFIER.search(top)
        attribute = Attribute(
            name=name,
            force_new=bool(modifier) and modifier.group(1) in ("RequiresReplace", "RequiresReplaceIfConfigured"),
            computed_only=bool(re.search(r"\bComputed:\s*true", top))
            and not re.search(r"\b(Optional|Required):\s*true", top),
            is_list=bool(re.match(r"schema\.(List|Set)", value.strip())),
        )
        if modifier and not attribute.force_new:
            attribute.replace_condition = f"{modifier.group(1)}(…) plan modifier"
        if nested_at >= 0:
            attribute.children = _framework_object(own[nested_at:], source)
        attributes[name] = attribute
    return attributes


def parse_framework_blocks(body: str, source: GoSource) -> dict[str, Attribute]:
    """Blocks of a `map[string]schema.Block{...}` literal body (Plugin Framework)."""
    blocks: dict[str, Attribute] = {}
    for entry in split_top_level(body):
        pair = key_value(entry)
        if pair is None:
            continue
        name = source.key(pair[0])
        if name is None:
            continue
        value = pair[1]
        brace = value.find("{")
        own = value[brace + 1 : matching_brace(value, brace)] if brace >= 0 else ""
        nested_at = own.find("NestedObject:")
        top = own[:nested_at] if nested_at >= 0 else own
        modifier = _REPLACE_MODIFIER.search(top)
        block = Attribute(
            name=name,
            force_new=bool(modifier) and modifier.group(1) in ("RequiresReplace", "RequiresReplaceIfConfigured"),
            is_list=bool(re.match(r"schema\.(List|Set)NestedBlock", value.strip())),
            max_items_one="SizeAtMost(1)" in top,
        )
        if nested_at >= 0:
            block.children = _framework_object(own[nested_at:], source)
        blocks[name] = block
    return blocks


def _framework_object(text: str, source: GoSource) -> dict[str, Attribute]:
    children: dict[str, Attribute] = {}
    attributes = literal_body(text, "map[string]schema.Attribute{")
    if attributes is not None:
        children.update(parse_framework_attributes(attributes, source))
    blocks = literal_body(text, "map[string]schema.Block{")
    if blocks is not None:
        children.update(parse_framework_blocks(blocks, source))
    return children


@dataclass
class TerraformResource:
    """The replace-relevant schema of one Terraform resource type, and where it was read."""

    tf_type: str
    path: str
    attributes: dict[str, Attribute]
    conditional: dict[str, str]  # attribute → condition text (CustomizeDiff ForceNewIf…)
    derived: dict[str, str] = field(default_factory=dict)  # names.Attr… constants not in the names/ file read
    recomputed: dict[str, dict[str, Any]] = field(default_factory=dict)  # output → CustomizeDiff ComputedIf rule


def find_resource(checkout: Path, tf_type: str, relative: str, constants: dict[str, str]) -> TerraformResource:
    """Parse the schema of `tf_type` in `relative` (after its `@SDKResource`/`@FrameworkResource` annotation when
    the file has one: older files define the resource in a `func Resource…()` without it)."""
    path = checkout / relative
    if not path.is_file():
        raise SystemExit(f"{tf_type}: {relative} is not in {checkout}")
    text = path.read_text(encoding="utf-8")
    package = {p.name: p.read_text(encoding="utf-8") for p in path.parent.glob("*.go") if p != path}
    source = GoSource({path.name: text, **package}, constants)
    match = re.search(rf'//\s*@(SDK|Framework)Resource\("{re.escape(tf_type)}"', text)
    after = text[match.end() :] if match else text
    framework = bool(match and match.group(1) == "Framework") or (
        "map[string]*schema.Schema{" not in after and "schema.Schema{" in after
    )
    if not framework:
        body = literal_body(after, "map[string]*schema.Schema{")
        if body is None:
            raise SystemExit(f"{relative}: no schema map for {tf_type}")
        attributes = parse_sdk_schema_map(body, source)
    else:
        attributes = {}
        schema_at = after.find("schema.Schema{")
        if schema_at < 0:
            raise SystemExit(f"{relative}: no schema.Schema literal for {tf_type}")
        attributes.update(_framework_object(literal_body(after[schema_at:], "schema.Schema{") or "", source))
    conditional = customize_diff_conditions(after, source)
    recomputed = computed_if_outputs(after, source)
    if source.unresolved:
        raise SystemExit(f"{relative}: cannot resolve {', '.join(sorted(set(source.unresolved)))}")
    return TerraformResource(tf_type, relative, attributes, conditional, source.derived, recomputed)


def customize_diff_conditions(text: str, source: GoSource) -> dict[str, str]:
    """Attributes a CustomizeDiff replaces only under a condition: `customdiff.ForceNewIf…("attr", …)` or
    `diff.ForceNew("attr")` inside a condition (attributes that are ForceNew anyway are dropped later)."""
    found: dict[str, str] = {}
    key = r'("[a-z0-9_.]+"|names\.Attr\w+)'
    for match in re.finditer(rf"customdiff\.(ForceNewIf(?:Change)?)\(\s*{key}", text):
        name = source.key(match.group(2))
        if name:
            found.setdefault(name.replace(".0.", "."), f"CustomizeDiff customdiff.{match.group(1)}")
    for match in re.finditer(rf"\b\w+\.ForceNew\(\s*{key}\s*\)", text):
        name = source.key(match.group(1))
        if name:
            found.setdefault(name.replace(".0.", "."), "CustomizeDiff ForceNew under a condition")
    return found


_KEY = r'"[a-z0-9_]+"|names\.Attr\w+'
_COMPUTED_IF = re.compile(rf"customdiff\.ComputedIf\(\s*({_KEY})\s*,\s*func\(")


def computed_if_outputs(text: str, source: GoSource) -> dict[str, dict[str, Any]]:
    """Outputs a CustomizeDiff marks unknown when the resource changes (`customdiff.ComputedIf("attr", …)`): an
    update gives them new values, so the plan's readers of them change too (aws_launch_template's
    `latest_version`: each update is a new template version).

    The usual rule, a switch over `diff.GetChangedKeysPrefix("")` whose `case` keys `continue` and whose `default`
    returns `true` (or a bool input), becomes {"unlessOnly": keys, "whenInput": input}: the output is renewed by
    a change to any other key, when that input is true. Any other rule becomes {"condition": …}: the output may
    be renewed by any change."""
    found: dict[str, dict[str, Any]] = {}
    for match in _COMPUTED_IF.finditer(text):
        name = source.key(match.group(1))
        if name is None:
            continue
        parameters_end = matching_brace(text, match.end() - 1)
        brace = text.index("{", parameters_end)
        body = text[brace + 1 : matching_brace(text, brace)]
        skipped = re.search(rf"\bcase\s+((?:(?:{_KEY})\s*,?\s*)+):\s*continue\b", body)
        default = re.search(rf"\bdefault:\s*return\s+(true|\w+\.Get\(\s*({_KEY})\s*\)\.\(bool\))\s*}}", body)
        shaped = 'GetChangedKeysPrefix("")' in body and re.search(r"\breturn false\s*$", body.strip())
        if not (shaped and skipped and default):
            found[name] = {"condition": "CustomizeDiff customdiff.ComputedIf"}
            continue
        keys = [source.key(key) for key in re.findall(_KEY, skipped.group(1))]
        rule: dict[str, Any] = {"unlessOnly": sorted({key for key in keys if key})}
        if default.group(2):
            rule["whenInput"] = source.key(default.group(2))
        found[name] = rule
    return found


def read_constants(checkout: Path) -> dict[str, str]:
    """`names.Attr…` constants (names/attr_consts_gen.go) and any other string constants under names/."""
    constants: dict[str, str] = {}
    for path in sorted((checkout / "names").glob("*.go")):
        for name, value in re.findall(r'\b([A-Z][A-Za-z0-9_]*)\s*=\s*"([^"]*)"', path.read_text(encoding="utf-8")):
            constants.setdefault(name, value)
    return constants


# --- Terraform names → Pulumi names, through the installed SDK -------------------------------------------


def _sdk_args_class(pulumi_type: str) -> type:
    """The `*Args` class of a pulumi_aws resource type token (`aws:eks/nodeGroup:NodeGroup`): the one defined
    next to the resource class (`BucketVersioningInitArgs` where a nested input already took `…Args`)."""
    module, _, name = pulumi_type.split(":", 1)[1].partition(":")
    package = importlib.import_module(f"pulumi_aws.{module.split('/')[0]}")
    resource_module = sys.modules[getattr(package, name).__module__]
    for candidate in (f"{name}Args", f"{name}InitArgs"):
        cls = getattr(resource_module, candidate, None)
        if cls is not None and cls.__module__ == resource_module.__name__:
            return cls
    raise SystemExit(f"{pulumi_type}: no Args class in {resource_module.__name__}")


def _sdk_properties(cls: type) -> dict[str, tuple[str, Any]]:
    """python name → (Pulumi name, return annotation) of an SDK Args class."""
    from pulumi._types import _py_properties

    return {py: (pulumi_name, prop.fget.__annotations__.get("return")) for py, pulumi_name, prop in _py_properties(cls)}


def _nested_class(annotation: Any, module: Any) -> tuple[type | None, bool]:
    """The nested Args class an annotation refers to, and whether it is a list of them."""
    text = str(annotation)
    is_list = "Sequence[" in text
    names = re.findall(r"ForwardRef\('([A-Za-z0-9_]+Args)'\)", text)
    if not names:
        return None, is_list
    inputs = importlib.import_module(f"{module.__name__.rsplit('.', 1)[0]}._inputs")
    return getattr(inputs, names[0], None), is_list


def _candidates(tf_name: str) -> list[str]:
    base = [tf_name, f"{tf_name}_", f"{tf_name}s", f"{tf_name}es"]  # `and` is `and_` in Python
    if tf_name.endswith("y"):
        base.append(f"{tf_name[:-1]}ies")
    if tf_name.endswith("s"):
        base.append(tf_name)
    return base


@dataclass
class Mapped:
    """Replace rules of one Pulumi type, in Pulumi property paths, and what could not be checked."""

    rules: list[dict[str, Any]] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)


def map_attributes(
    attributes: dict[str, Attribute],
    cls: type,
    prefix: str,
    tf_prefix: str,
    resource: TerraformResource,
    out: Mapped,
) -> None:
    """Walk Terraform attributes and SDK properties together, collecting Pulumi paths that force replacement."""
    properties = _sdk_properties(cls)
    module = sys.modules[cls.__module__]
    seen: set[str] = set()
    for tf_name, attribute in sorted(attributes.items()):
        if attribute.computed_only or (prefix == "" and tf_name in ("id", "timeouts")):
            continue  # outputs, and Terraform-only meta arguments the bridge does not expose
        renamed = RENAMES.get((resource.tf_type, f"{tf_prefix}{tf_name}"))
        candidates = [renamed] if renamed else _candidates(tf_name)
        python_name = next((c for c in candidates if c in properties), None)
        if python_name is None:
            out.unmapped.append(f"{tf_prefix}{tf_name}")
            continue
        seen.add(python_name)
        pulumi_name, annotation = properties[python_name]
        path = f"{prefix}{pulumi_name}"
        condition = resource.conditional.get(f"{tf_prefix}{tf_name}") or attribute.replace_condition
        if attribute.force_new:
            out.rules.append({"path": path})
        elif condition:
            known = KNOWN_CONDITIONS.get((resource.tf_type, f"{tf_prefix}{tf_name}"))
            rule: dict[str, Any] = {"path": path, "condition": condition}
            if known:
                rule["when"] = known
            out.rules.append(rule)
        if attribute.children:
            nested, is_list = _nested_class(annotation, module)
            if nested is None:
                out.unmapped.append(f"{tf_prefix}{tf_name}.*")
                continue
            child_prefix = f"{path}[*]." if is_list else f"{path}."
            map_attributes(attribute.children, nested, child_prefix, f"{tf_prefix}{tf_name}.", resource, out)
    for python_name, (pulumi_name, _) in sorted(properties.items()):
        if python_name not in seen and not (prefix == "" and python_name in ("region", "tags", "timeouts")):
            out.unverified.append(f"{prefix}{pulumi_name}")


def aws_entry(pulumi_type: str, resource: TerraformResource, provenance: dict[str, Any]) -> dict[str, Any]:
    """The table entry of one pulumi-aws type."""
    cls = _sdk_args_class(pulumi_type)
    mapped = Mapped()
    map_attributes(resource.attributes, cls, "", "", resource, mapped)
    rules = sorted(mapped.rules, key=lambda rule: rule["path"])
    if "region" in _sdk_properties(cls):
        rules.insert(0, {"path": "region", "note": "pulumi-aws 7 enhanced region support"})
    origin = provenance.get(f"terraform-provider-aws:{resource.path}", {})
    entry: dict[str, Any] = {
        "source": {
            "repository": origin.get("repository", "hashicorp/terraform-provider-aws"),
            "path": resource.path,
            "commit": origin.get("commit"),
            "terraformType": resource.tf_type,
        },
        "replaceOnChanges": rules,
    }
    if mapped.unverified:
        # SDK inputs the source read does not define (the source predates them): no rule known.
        entry["unverified"] = sorted(mapped.unverified)
    recomputed = recomputed_outputs(pulumi_type, resource, mapped)
    if recomputed:
        entry["recomputedOutputs"] = recomputed
    if mapped.unmapped:
        # Attributes of the source read that the SDK no longer has (removed upstream since).
        entry["notInSdk"] = sorted(set(mapped.unmapped))
    if resource.derived:
        entry["source"]["derivedConstants"] = dict(sorted(resource.derived.items()))
    return entry


def recomputed_outputs(pulumi_type: str, resource: TerraformResource, mapped: Mapped) -> list[dict[str, Any]]:
    """The resource's ComputedIf outputs in Pulumi names (the resource class's properties: inputs and outputs),
    with `when` in the table's condition form; outputs and keys the SDK does not have go to `mapped.unmapped`."""
    module, _, name = pulumi_type.split(":", 1)[1].partition(":")
    resource_class = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)
    names = {python: pulumi_name for python, (pulumi_name, _) in _sdk_properties(resource_class).items()}
    rules: list[dict[str, Any]] = []
    for tf_name, found in sorted(resource.recomputed.items()):
        if tf_name not in names:
            mapped.unmapped.append(tf_name)
            continue
        rule: dict[str, Any] = {"output": names[tf_name]}
        if "unlessOnly" in found:
            rule["unlessOnly"] = sorted(names[key] for key in found["unlessOnly"] if key in names)
            mapped.unmapped += [key for key in found["unlessOnly"] if key not in names]
        if found.get("whenInput") in names:
            rule["when"] = [{"input": names[found["whenInput"]], "equals": True}]
        elif "whenInput" in found:
            mapped.unmapped.append(found["whenInput"])
            rule["condition"] = f"CustomizeDiff customdiff.ComputedIf: when {found['whenInput']} is true"
        if "condition" in found:
            rule["condition"] = found["condition"]
        rules.append(rule)
    return rules


# --- pulumi-kubernetes -----------------------------------------------------------------------------------


def kubernetes_force_new(checkout: Path) -> dict[tuple[str, str, str], list[str]]:
    """(group, version, kind) → forceNew paths, read from provider/pkg/provider/diff.go."""
    text = (checkout / "provider" / "pkg" / "provider" / "diff.go").read_text(encoding="utf-8")
    paths: dict[str, list[str]] = {}  # `var deployment = append(properties{...}, ...)` and the like
    versions: dict[str, str] = {}  # `var core = _versions{...}`: body text
    for match in re.finditer(r"^var (\w+) = (append\(|properties\{|_versions\{)", text, re.M):
        opener = match.end() - 1
        body = text[opener + 1 : matching_brace(text, opener)]
        if match.group(2) == "_versions{":
            versions[match.group(1)] = body
        else:
            paths[match.group(1)] = _paths_of(body, text)

    def kinds(body: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for entry in split_top_level(body):
            pair = key_value(entry)
            if pair:
                value = pair[1].strip()
                found[json.loads(pair[0])] = paths[value] if value in paths else _paths_of(value, text)
        return found

    groups_at = text.index("var forceNew = _groups{")
    brace = text.index("{", groups_at)
    table: dict[tuple[str, str, str], list[str]] = {}
    for entry in split_top_level(text[brace + 1 : matching_brace(text, brace)]):
        pair = key_value(entry)
        if pair is None:
            continue
        group, value = json.loads(pair[0]), pair[1].strip()
        if value in versions:
            versions_body = versions[value]
        else:
            inner = value.index("{")
            versions_body = value[inner + 1 : matching_brace(value, inner)]
        for version_entry in split_top_level(versions_body):
            version_pair = key_value(version_entry)
            if version_pair is None:
                continue
            kinds_value = version_pair[1]
            inner = kinds_value.index("{")
            for kind, kind_paths in kinds(kinds_value[inner + 1 : matching_brace(kinds_value, inner)]).items():
                table[(group, json.loads(version_pair[0]), kind)] = kind_paths
    return table


def _paths_of(body: str, text: str) -> list[str]:
    """Quoted `.a.b` paths in a properties literal, with helper calls (labelSelectorForceNewProperties) expanded."""
    paths = re.findall(r'"(\.[^"]+)"', re.sub(r"\b\w+ForceNewProperties\([^)]*\)", "", body))
    for helper, arguments in re.findall(r"\b(\w+ForceNewProperties)\(([^)]*)\)", body):
        prefixes = [json.loads(argument) for argument in re.findall(r'"[^"]*"', arguments)]
        helper_at = text.index(f"func {helper}(")
        helper_body = text[text.index("{", helper_at) : matching_brace(text, text.index("{", helper_at))]
        suffixes = re.findall(r'prefix \+ "([^"]*)"', helper_body)
        paths += [prefix + suffix for prefix in prefixes for suffix in suffixes]
    return list(dict.fromkeys(paths))


def kubernetes_helm_force_new(checkout: Path) -> list[str]:
    """forceNewFields of a Helm release's Diff (provider/pkg/provider/helm_release.go)."""
    text = (checkout / "provider" / "pkg" / "provider" / "helm_release.go").read_text(encoding="utf-8")
    match = re.search(r"forceNewFields := \[\]string\{([^}]*)\}", text)
    if not match:
        raise SystemExit("helm_release.go: no forceNewFields in Diff")
    return [json.loads(path) for path in re.findall(r'"[^"]+"', match.group(1))]


def pulumi_path(kubernetes_path: str) -> str:
    """`.spec.containers[*].args` → `spec.containers[*].args`."""
    return kubernetes_path.removeprefix(".")


def kubernetes_entry(pulumi_type: str, table: dict[tuple[str, str, str], list[str]], diff_go: str) -> dict:
    """The table entry of one `kubernetes:<group>/<version>:<Kind>` type."""
    group_version, kind = pulumi_type.split(":", 1)[1].rsplit(":", 1)
    group, version = group_version.split("/") if "/" in group_version else ("", group_version)
    group = "" if group == "core" else group
    rules: list[dict[str, Any]] = [{"path": "metadata.name"}, {"path": "metadata.namespace"}]
    kind_paths = table.get((group, version, kind))
    if kind == "Secret" and (group, version) == ("", "v1"):
        # forceNewProperties: a Secret's type, stringData and data replace it unless enableSecretMutable is
        # set and the Secret is not immutable; `type` always replaces.
        rules.append({"path": "type"})
        mutable = [
            {"providerConfig": "enableSecretMutable", "notEquals": "true"},
            {"input": "immutable", "equals": True},
        ]
        rules += [
            {"path": p, "when": mutable, "condition": K8S_PROVIDER_CONFIG_DEFAULT_NOTE} for p in ("stringData", "data")
        ]
    elif kind == "ConfigMap" and (group, version) == ("", "v1") and kind_paths is None:
        mutable = [
            {"providerConfig": "enableConfigMapMutable", "notEquals": "true"},
            {"input": "immutable", "equals": True},
        ]
        rules += [
            {"path": p, "when": mutable, "condition": K8S_PROVIDER_CONFIG_DEFAULT_NOTE} for p in ("binaryData", "data")
        ]
    elif kind_paths:
        rules += [{"path": pulumi_path(p)} for p in kind_paths]
    return {
        "source": {"repository": "pulumi/pulumi-kubernetes", "path": diff_go, "function": "forceNewProperties"},
        "replaceOnChanges": rules,
    }


# --- the table -------------------------------------------------------------------------------------------


def registered_types() -> list[str]:
    """Every resource type the example stacks register (plans run in-process under mocks)."""
    sys.path.insert(0, str(ROOT))
    from llmscale.config.loader import load_stack
    from llmscale.plan.runner import run_program
    from llmscale.program import main as program

    found: set[str] = set()
    for stack_file in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
        found.update(r.type for r in run_program(load_stack(stack), program).resources if r.custom)
    return sorted(found)


PROVIDER_ENTRIES: dict[str, dict[str, Any]] = {
    "pulumi:providers:aws": {
        "source": {"repository": "pulumi/pulumi-aws", "path": "provider/resources.go", "field": "Config"},
        "replaceOnChanges": [{"path": "region", "note": "ForcesProviderReplace"}],
    },
    "pulumi:providers:kubernetes": {
        "source": {
            "repository": "pulumi/pulumi-kubernetes",
            "path": "provider/pkg/provider/provider.go",
            "function": "DiffConfig",
        },
        "replaceOnChanges": [
            # DiffConfig replaces when the active cluster changes, and when any of these is unknown (it cannot
            # tell then): the kubeconfig of a cluster being replaced is unknown until the new one exists.
            {"path": "kubeconfig", "unknownReplaces": True},
            {"path": "context", "unknownReplaces": True},
            {"path": "cluster", "unknownReplaces": True},
            {"path": "clusterIdentifier"},
            {"path": "renderYamlToDirectory"},
        ],
    },
}


def build_table(types: list[str], aws_checkout: Path, k8s_checkout: Path, provenance: dict[str, Any]) -> dict[str, Any]:
    """The whole table for `types`; exits naming the first type it cannot fill from the sources."""
    constants = read_constants(aws_checkout)
    k8s_table = kubernetes_force_new(k8s_checkout)
    helm = kubernetes_helm_force_new(k8s_checkout)
    entries: dict[str, Any] = {}
    for pulumi_type in types:
        if pulumi_type in PROVIDER_ENTRIES:
            entries[pulumi_type] = PROVIDER_ENTRIES[pulumi_type]
        elif pulumi_type.startswith("aws:"):
            if pulumi_type not in AWS_TYPES:
                raise SystemExit(f"{pulumi_type}: add its Terraform type to AWS_TYPES in {Path(__file__).name}")
            resource = find_resource(aws_checkout, *AWS_TYPES[pulumi_type], constants)
            entries[pulumi_type] = aws_entry(pulumi_type, resource, provenance)
        elif pulumi_type == "kubernetes:helm.sh/v3:Release":
            entries[pulumi_type] = {
                "source": {
                    "repository": "pulumi/pulumi-kubernetes",
                    "path": "provider/pkg/provider/helm_release.go",
                    "function": "Diff",
                },
                "replaceOnChanges": [{"path": pulumi_path(p)} for p in helm],
            }
        elif pulumi_type.startswith("kubernetes:"):
            entries[pulumi_type] = kubernetes_entry(pulumi_type, k8s_table, "provider/pkg/provider/diff.go")
        else:
            raise SystemExit(f"{pulumi_type}: no source of replace-on-change rules for this provider")
    for entry in entries.values():
        source = entry["source"] = dict(entry["source"])
        origin = provenance.get(f"{source['repository'].split('/')[-1]}:{source['path']}", {})
        source.setdefault("commit", origin.get("commit"))
    return {
        "formatVersion": FORMAT_VERSION,
        "generatedBy": "scripts/replace_table.py",
        "sources": provenance,
        "types": dict(sorted(entries.items())),
    }


def merge_tables(existing: dict[str, Any], generated: dict[str, Any]) -> dict[str, Any]:
    """`existing` with the entries and sources of `generated` added (replacing those of the same type or file):
    the entries kept stay as generated from the files and commits their `source` names."""
    if existing.get("formatVersion") != generated["formatVersion"]:
        raise SystemExit(f"--merge: the table at --out is format {existing.get('formatVersion')}, not {FORMAT_VERSION}")
    return {
        **generated,
        "sources": dict(sorted({**existing["sources"], **generated["sources"]}.items())),
        "types": dict(sorted({**existing["types"], **generated["types"]}.items())),
    }


def main(argv: list[str] | None = None) -> int:
    """Write the table; exit 1 naming what could not be read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terraform-provider-aws", type=Path, required=True, help="terraform-provider-aws checkout")
    parser.add_argument("--pulumi-kubernetes", type=Path, required=True, help="pulumi-kubernetes checkout")
    parser.add_argument("--provenance", type=Path, required=True, help="JSON: upstream path → repository, commit")
    parser.add_argument("--types", type=Path, help="a file of Pulumi types, one a line (default: example stacks)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the entries of the table at --out that this run does not write (default types: the example "
        "stacks' types the table lacks)",
    )
    args = parser.parse_args(argv)
    provenance = json.loads(args.provenance.read_text(encoding="utf-8"))
    existing = json.loads(args.out.read_text(encoding="utf-8")) if args.merge and args.out.is_file() else None
    if args.types:
        types = [line.strip() for line in args.types.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        types = [t for t in registered_types() if existing is None or t not in existing["types"]]
    table = build_table(types, args.terraform_provider_aws, args.pulumi_kubernetes, provenance)
    if existing is not None:
        table = merge_tables(existing, table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(table['types'])} types", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
