"""Tests for scripts/replace_table.py, which generates the replace-on-change table from provider source.

The generator reads Go: Terraform SDKv2 schemas (`ForceNew: true`, nested `Elem` blocks, schema helpers,
`names.Attr…` constants), Plugin Framework schemas (`RequiresReplace` plan modifiers), `CustomizeDiff` rules that
replace only sometimes, and pulumi-kubernetes' `forceNew` table. The snippets below are written for these tests in
the shape of the upstream files (no network); the names they map to come from the installed pulumi_aws SDK.
The vendored table itself is checked against the generator's own type list.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.diff import REPLACE_TABLE

SCRIPT = PACKAGE_ROOT / "scripts" / "replace_table.py"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("replace_table", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["replace_table"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


NAMES_GO = """package names

const (
	AttrClusterName = "cluster_name"
	AttrSubnetIDs   = "subnet_ids"
	AttrTags        = "tags"
)
"""

# A node group in the SDKv2 style: ForceNew scalars and lists, a MaxItems:1 block, a helper returning a nested
# schema, a computed-only output, a names constant missing from names/ (derived), and a CustomizeDiff rule.
NODE_GROUP_GO = """package eks

// @SDKResource("aws_eks_node_group", name="Node Group")
func resourceNodeGroup() *schema.Resource {
	return &schema.Resource{
		Schema: map[string]*schema.Schema{
			names.AttrClusterName: {
				Type:     schema.TypeString,
				Required: true,
				ForceNew: true,
			},
			"disk_size": {
				Type:     schema.TypeInt,
				Optional: true,
				Computed: true,
				ForceNew: true,
			},
			"instance_types": {
				Type:     schema.TypeList,
				Optional: true,
				ForceNew: true,
				Elem:     &schema.Schema{Type: schema.TypeString},
			},
			names.AttrLaunchTemplate: {
				Type:     schema.TypeList,
				Optional: true,
				MaxItems: 1,
				Elem: &schema.Resource{
					Schema: map[string]*schema.Schema{
						names.AttrID: {
							Type:     schema.TypeString,
							Optional: true,
							ForceNew: true,
						},
						names.AttrVersion: {
							Type:     schema.TypeString,
							Optional: true,
						},
					},
				},
			},
			"remote_access": remoteAccessSchema(),
			"scaling_config": {
				Type:     schema.TypeList,
				Required: true,
				MaxItems: 1,
				Elem: &schema.Resource{
					Schema: map[string]*schema.Schema{
						"desired_size": {
							Type:     schema.TypeInt,
							Optional: true,
						},
					},
				},
			},
			"status": {
				Type:     schema.TypeString,
				Computed: true,
			},
			names.AttrSubnetIDs: {
				Type:     schema.TypeSet,
				Required: true,
				ForceNew: true, // a comment, with "quotes" and {braces}
				Elem:     &schema.Schema{Type: schema.TypeString},
			},
			names.AttrTags: tftags.TagsSchema(),
		},
		CustomizeDiff: customdiff.Sequence(
			customdiff.ForceNewIfChange("scaling_config.0.desired_size", func(_ context.Context, o, n, m any) bool {
				return false
			}),
		),
	}
}

func remoteAccessSchema() *schema.Schema {
	return &schema.Schema{
		Type:     schema.TypeList,
		Optional: true,
		ForceNew: true,
		MaxItems: 1,
		Elem: &schema.Resource{
			Schema: map[string]*schema.Schema{
				"ec2_ssh_key": {
					Type:     schema.TypeString,
					Optional: true,
					ForceNew: true,
				},
			},
		},
	}
}
"""

# A Plugin Framework resource: RequiresReplace, RequiresReplaceIf (conditional), an ID helper, a nested block.
POD_IDENTITY_GO = """package eks

// @FrameworkResource("aws_eks_pod_identity_association", name="Pod Identity Association")
func newPodIdentityAssociationResource(context.Context) (resource.ResourceWithConfigure, error) {
	return &podIdentityAssociationResource{}, nil
}

func (r *podIdentityAssociationResource) Schema(ctx context.Context, req SchemaRequest, resp *SchemaResponse) {
	resp.Schema = schema.Schema{
		Attributes: map[string]schema.Attribute{
			names.AttrClusterName: schema.StringAttribute{
				Required: true,
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.RequiresReplace(),
				},
			},
			names.AttrID: framework.IDAttribute(),
			"namespace": schema.StringAttribute{
				Required: true,
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.RequiresReplaceIf(sameNamespace, "", ""),
				},
			},
			names.AttrRoleARN: schema.StringAttribute{
				Required: true,
			},
		},
	}
}
"""

# A launch template: ForceNew names, a nested block that is not ForceNew, and CustomizeDiff ComputedIf rules in the
# upstream shape (a switch over the changed keys), plus one in a shape the generator does not read.
LAUNCH_TEMPLATE_GO = """package ec2

// @SDKResource("aws_launch_template", name="Launch Template")
func resourceLaunchTemplate() *schema.Resource {
	return &schema.Resource{
		Schema: map[string]*schema.Schema{
			"block_device_mappings": {
				Type:     schema.TypeList,
				Optional: true,
				Elem: &schema.Resource{
					Schema: map[string]*schema.Schema{
						"device_name": {
							Type:     schema.TypeString,
							Optional: true,
						},
					},
				},
			},
			"default_version": {
				Type:     schema.TypeInt,
				Optional: true,
				Computed: true,
			},
			"description": {
				Type:     schema.TypeString,
				Optional: true,
			},
			"latest_version": {
				Type:     schema.TypeInt,
				Computed: true,
			},
			"name": {
				Type:     schema.TypeString,
				Optional: true,
				Computed: true,
				ForceNew: true,
			},
			"name_prefix": {
				Type:     schema.TypeString,
				Optional: true,
				Computed: true,
				ForceNew: true,
			},
			"update_default_version": {
				Type:     schema.TypeBool,
				Optional: true,
			},
		},
		CustomizeDiff: customdiff.Sequence(
			customdiff.ComputedIf("default_version", func(
				_ context.Context, diff *schema.ResourceDiff, meta interface{},
			) bool {
				for _, changedKey := range diff.GetChangedKeysPrefix("") {
					switch changedKey {
					case "name", "name_prefix", "description":
						continue
					default:
						return diff.Get("update_default_version").(bool)
					}
				}
				return false
			}),
			customdiff.ComputedIf("latest_version", func(
				_ context.Context, diff *schema.ResourceDiff, meta interface{},
			) bool {
				for _, changedKey := range diff.GetChangedKeysPrefix("") {
					switch changedKey {
					case "name", "name_prefix", "description", "default_version", "update_default_version":
						continue
					default:
						return true
					}
				}
				return false
			}),
			customdiff.ComputedIf("arn", func(_ context.Context, diff *schema.ResourceDiff, meta interface{}) bool {
				return diff.HasChange("name")
			}),
		),
	}
}
"""

# An S3 object: ForceNew `bucket` and `key`, `content` updated in place, a MaxItems:1 block nested in another, the
# tags helpers and a CustomizeDiff that marks outputs unknown but replaces nothing.
OBJECT_GO = """package s3

// @SDKResource("aws_s3_object", name="Object")
func resourceObject() *schema.Resource {
	return &schema.Resource{
		CustomizeDiff: customdiff.Sequence(
			resourceObjectCustomizeDiff,
		),

		Schema: map[string]*schema.Schema{
			"bucket": {
				Type:     schema.TypeString,
				Required: true,
				ForceNew: true,
			},
			"content": {
				Type:          schema.TypeString,
				Optional:      true,
				ConflictsWith: []string{"source", "content_base64"},
			},
			"key": {
				Type:     schema.TypeString,
				Required: true,
				ForceNew: true,
			},
			"override_provider": {
				Type:     schema.TypeList,
				Optional: true,
				MaxItems: 1,
				Elem: &schema.Resource{
					Schema: map[string]*schema.Schema{
						"default_tags": {
							Type:     schema.TypeList,
							Optional: true,
							MaxItems: 1,
							Elem: &schema.Resource{
								Schema: map[string]*schema.Schema{
									names.AttrTags: {
										Type:     schema.TypeMap,
										Optional: true,
										Elem:     &schema.Schema{Type: schema.TypeString},
									},
								},
							},
						},
					},
				},
			},
			names.AttrTags:    tftags.TagsSchema(),
			names.AttrTagsAll: tftags.TagsSchemaComputed(),
			"version_id": {
				Type:     schema.TypeString,
				Computed: true,
			},
		},
	}
}

func resourceObjectCustomizeDiff(_ context.Context, d *schema.ResourceDiff, meta interface{}) error {
	if d.HasChange("content") {
		return d.SetNewComputed("version_id")
	}
	return nil
}
"""

DIFF_GO = """package provider

var forceNew = _groups{
	"apps": _versions{
		"v1": kinds{
			"Deployment": deployment,
		},
	},
	"batch": _versions{
		"v1": kinds{
			"Job": job,
		},
	},
	"": core,
}

var core = _versions{
	"v1": kinds{
		"PersistentVolumeClaim": append(
			properties{
				".spec.accessModes",
				".spec.resources",
			},
			labelSelectorForceNewProperties(".spec.selector")...),
		"Service": properties{
			".spec.clusterIP",
		},
	},
}

var deployment = append(
	properties{
		".spec.selector",
	},
	labelSelectorForceNewProperties(".spec.selector")...,
)

var job = properties{
	".spec.selector",
	".spec.template",
}

func labelSelectorForceNewProperties(prefix string) properties {
	return properties{
		prefix + ".matchExpressions",
		prefix + ".matchLabels",
	}
}
"""

HELM_GO = """package provider

func (r *helmReleaseProvider) Diff(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	forceNewFields := []string{".name", ".namespace"}
	return nil, nil
}
"""


def checkouts(tmp_path: Path) -> tuple[Path, Path]:
    aws, k8s = tmp_path / "terraform-provider-aws", tmp_path / "pulumi-kubernetes"
    files = {
        aws / "names" / "attr_consts_gen.go": NAMES_GO,
        aws / "internal" / "service" / "eks" / "node_group.go": NODE_GROUP_GO,
        aws / "internal" / "service" / "eks" / "pod_identity_association.go": POD_IDENTITY_GO,
        aws / "internal" / "service" / "ec2" / "ec2_launch_template.go": LAUNCH_TEMPLATE_GO,
        aws / "internal" / "service" / "s3" / "object.go": OBJECT_GO,
        k8s / "provider" / "pkg" / "provider" / "diff.go": DIFF_GO,
        k8s / "provider" / "pkg" / "provider" / "helm_release.go": HELM_GO,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return aws, k8s


def test_sdk_schemas_are_read_with_nested_blocks_helpers_and_constants(tmp_path: Path, generator: ModuleType) -> None:
    aws, _ = checkouts(tmp_path)
    constants = generator.read_constants(aws)
    resource = generator.find_resource(aws, "aws_eks_node_group", "internal/service/eks/node_group.go", constants)
    attributes = resource.attributes
    assert {name for name, a in attributes.items() if a.force_new} == {
        "cluster_name",
        "disk_size",
        "instance_types",
        "remote_access",
        "subnet_ids",
    }
    assert attributes["status"].computed_only
    assert attributes["launch_template"].max_items_one and attributes["launch_template"].is_list
    assert attributes["launch_template"].children["id"].force_new
    assert not attributes["launch_template"].children["version"].force_new
    assert attributes["remote_access"].children["ec2_ssh_key"].force_new  # from the helper function
    # names.AttrLaunchTemplate, names.AttrID and names.AttrVersion are not in the names file read: derived.
    assert resource.derived == {
        "names.AttrID": "id",
        "names.AttrLaunchTemplate": "launch_template",
        "names.AttrVersion": "version",
    }
    assert resource.conditional == {"scaling_config.desired_size": "CustomizeDiff customdiff.ForceNewIfChange"}


def test_framework_schemas_are_read_with_their_plan_modifiers(tmp_path: Path, generator: ModuleType) -> None:
    aws, _ = checkouts(tmp_path)
    resource = generator.find_resource(
        aws,
        "aws_eks_pod_identity_association",
        "internal/service/eks/pod_identity_association.go",
        generator.read_constants(aws),
    )
    attributes = resource.attributes
    assert attributes["cluster_name"].force_new
    assert not attributes["role_arn"].force_new
    assert attributes["id"].computed_only
    assert not attributes["namespace"].force_new
    assert attributes["namespace"].replace_condition == "RequiresReplaceIf(…) plan modifier"


@pytest.mark.parametrize(
    ("constant", "name"),
    [
        ("AttrSubnetIDs", "subnet_ids"),
        ("AttrCIDRBlock", "cidr_block"),
        ("AttrKMSKeyARN", "kms_key_arn"),
        ("AttrIPv6CIDRBlock", "ipv6_cidr_block"),
        ("AttrLaunchTemplate", "launch_template"),
    ],
)
def test_attribute_constants_are_spelled_like_the_names_package(
    generator: ModuleType, constant: str, name: str
) -> None:
    assert generator.derive_attr_name(constant) == name


def test_terraform_names_become_the_sdks_pulumi_names(tmp_path: Path, generator: ModuleType) -> None:
    """Through the installed pulumi_aws SDK: plural lists, MaxItems:1 blocks as objects, the region input."""
    aws, _ = checkouts(tmp_path)
    resource = generator.find_resource(
        aws, "aws_eks_node_group", "internal/service/eks/node_group.go", generator.read_constants(aws)
    )
    entry = generator.aws_entry("aws:eks/nodeGroup:NodeGroup", resource, {})
    rules = {rule["path"]: rule for rule in entry["replaceOnChanges"]}
    assert {"region", "clusterName", "diskSize", "instanceTypes", "launchTemplate.id", "subnetIds"} <= set(rules)
    assert {"remoteAccess", "remoteAccess.ec2SshKey"} <= set(rules)
    assert "launchTemplate.version" not in rules
    assert rules["scalingConfig.desiredSize"]["condition"] == "CustomizeDiff customdiff.ForceNewIfChange"
    # SDK inputs this snippet does not define are listed, not guessed.
    assert {"nodeRoleArn", "scalingConfig.maxSize", "amiType"} <= set(entry["unverified"])


def test_outputs_an_update_renews_are_read_from_computed_if(tmp_path: Path, generator: ModuleType) -> None:
    """`customdiff.ComputedIf`: the keys whose change alone renews nothing, the bool input the rule depends on, and
    a rule of another shape kept as a condition (any change may renew the output)."""
    aws, _ = checkouts(tmp_path)
    resource = generator.find_resource(
        aws, "aws_launch_template", "internal/service/ec2/ec2_launch_template.go", generator.read_constants(aws)
    )
    assert resource.recomputed == {
        "arn": {"condition": "CustomizeDiff customdiff.ComputedIf"},
        "default_version": {
            "unlessOnly": ["description", "name", "name_prefix"],
            "whenInput": "update_default_version",
        },
        "latest_version": {
            "unlessOnly": ["default_version", "description", "name", "name_prefix", "update_default_version"]
        },
    }
    entry = generator.aws_entry("aws:ec2/launchTemplate:LaunchTemplate", resource, {})
    assert [rule["path"] for rule in entry["replaceOnChanges"]] == ["region", "name", "namePrefix"]
    assert entry["recomputedOutputs"] == [
        {"output": "arn", "condition": "CustomizeDiff customdiff.ComputedIf"},
        {
            "output": "defaultVersion",
            "unlessOnly": ["description", "name", "namePrefix"],
            "when": [{"input": "updateDefaultVersion", "equals": True}],
        },
        {
            "output": "latestVersion",
            "unlessOnly": ["defaultVersion", "description", "name", "namePrefix", "updateDefaultVersion"],
        },
    ]


def test_an_s3_object_is_bucket_objectv2_and_replaced_only_for_a_new_bucket_or_key(
    tmp_path: Path, generator: ModuleType
) -> None:
    """pulumi-aws maps `aws_s3_object` to `aws:s3/bucketObjectv2:BucketObjectv2` (provider/resources.go); its nested
    `override_provider.default_tags` block resolves through the SDK's `BucketObjectv2OverrideProvider…Args`."""
    assert generator.AWS_TYPES["aws:s3/bucketObjectv2:BucketObjectv2"] == (
        "aws_s3_object",
        "internal/service/s3/object.go",
    )
    aws, _ = checkouts(tmp_path)
    resource = generator.find_resource(
        aws, "aws_s3_object", "internal/service/s3/object.go", generator.read_constants(aws)
    )
    assert (resource.conditional, resource.recomputed) == ({}, {})
    entry = generator.aws_entry("aws:s3/bucketObjectv2:BucketObjectv2", resource, {})
    assert entry["replaceOnChanges"] == [
        {"path": "region", "note": "pulumi-aws 7 enhanced region support"},
        {"path": "bucket"},
        {"path": "key"},
    ]
    # Mapped, so not unverified: the nested block; inputs this snippet leaves out are listed, not guessed.
    assert "overrideProvider.defaultTags.tags" not in entry["unverified"]
    assert {"contentBase64", "source", "contentType"} <= set(entry["unverified"])
    assert "notInSdk" not in entry


def test_the_kubernetes_force_new_table_is_read(tmp_path: Path, generator: ModuleType) -> None:
    _, k8s = checkouts(tmp_path)
    table = generator.kubernetes_force_new(k8s)
    assert table[("apps", "v1", "Deployment")] == [
        ".spec.selector",
        ".spec.selector.matchExpressions",
        ".spec.selector.matchLabels",
    ]
    assert table[("batch", "v1", "Job")] == [".spec.selector", ".spec.template"]
    assert table[("", "v1", "PersistentVolumeClaim")][:2] == [".spec.accessModes", ".spec.resources"]
    assert table[("", "v1", "Service")] == [".spec.clusterIP"]
    assert generator.kubernetes_helm_force_new(k8s) == [".name", ".namespace"]


def test_a_whole_table_from_checkouts(tmp_path: Path, generator: ModuleType) -> None:
    aws, k8s = checkouts(tmp_path)
    types = tmp_path / "types.txt"
    types.write_text(
        "\n".join(
            [
                "aws:eks/nodeGroup:NodeGroup",
                "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                "kubernetes:apps/v1:Deployment",
                "kubernetes:batch/v1:Job",
                "kubernetes:core/v1:PersistentVolumeClaim",
                "kubernetes:core/v1:ConfigMap",
                "kubernetes:keda.sh/v1alpha1:ScaledObject",
                "kubernetes:helm.sh/v3:Release",
                "pulumi:providers:aws",
                "pulumi:providers:kubernetes",
            ]
        ),
        encoding="utf-8",
    )
    provenance = tmp_path / "provenance.json"
    commit = "0123456789abcdef0123456789abcdef01234567"
    provenance.write_text(
        json.dumps(
            {
                "terraform-provider-aws:internal/service/eks/node_group.go": {
                    "repository": "hashicorp/terraform-provider-aws",
                    "commit": commit,
                }
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "table.json"
    arguments = ["--terraform-provider-aws", str(aws), "--pulumi-kubernetes", str(k8s)]
    arguments += ["--provenance", str(provenance), "--types", str(types), "--out", str(out)]
    assert generator.main(arguments) == 0
    table = json.loads(out.read_text(encoding="utf-8"))["types"]

    def paths(kind: str) -> list[str]:
        return [rule["path"] for rule in table[kind]["replaceOnChanges"]]

    assert table["aws:eks/nodeGroup:NodeGroup"]["source"]["commit"] == commit
    assert "subnetIds" in paths("aws:eks/nodeGroup:NodeGroup")
    assert paths("kubernetes:apps/v1:Deployment")[:3] == ["metadata.name", "metadata.namespace", "spec.selector"]
    assert "spec.template" in paths("kubernetes:batch/v1:Job")
    assert "spec.resources" in paths("kubernetes:core/v1:PersistentVolumeClaim")
    assert paths("kubernetes:keda.sh/v1alpha1:ScaledObject") == ["metadata.name", "metadata.namespace"]
    configmap = {rule["path"]: rule for rule in table["kubernetes:core/v1:ConfigMap"]["replaceOnChanges"]}
    assert configmap["data"]["when"][0] == {"providerConfig": "enableConfigMapMutable", "notEquals": "true"}
    assert paths("kubernetes:helm.sh/v3:Release") == ["name", "namespace"]
    assert paths("pulumi:providers:aws") == ["region"]
    assert table["pulumi:providers:kubernetes"]["replaceOnChanges"][0] == {
        "path": "kubeconfig",
        "unknownReplaces": True,
    }


def test_merge_adds_the_types_of_this_run_and_keeps_the_others(tmp_path: Path, generator: ModuleType) -> None:
    """`--merge`: the entries already in the table stay as read from their own recorded sources."""
    aws, k8s = checkouts(tmp_path)
    kept_source = {"repository": "hashicorp/terraform-provider-aws", "commit": "1" * 40}
    kept = {"source": {"path": "internal/service/ec2/vpc_.go", "commit": "1" * 40}, "replaceOnChanges": []}
    out = tmp_path / "table.json"
    out.write_text(
        json.dumps(
            {
                "formatVersion": generator.FORMAT_VERSION,
                "generatedBy": "scripts/replace_table.py",
                "sources": {"terraform-provider-aws:internal/service/ec2/vpc_.go": kept_source},
                "types": {"aws:ec2/vpc:Vpc": kept},
            }
        ),
        encoding="utf-8",
    )
    types = tmp_path / "types.txt"
    types.write_text(
        "aws:ec2/launchTemplate:LaunchTemplate\nkubernetes:storage.k8s.io/v1:StorageClass\n", encoding="utf-8"
    )
    provenance = tmp_path / "provenance.json"
    launch_template = {"repository": "hashicorp/terraform-provider-aws", "commit": "2" * 40}
    provenance.write_text(
        json.dumps({"terraform-provider-aws:internal/service/ec2/ec2_launch_template.go": launch_template}),
        encoding="utf-8",
    )
    arguments = ["--terraform-provider-aws", str(aws), "--pulumi-kubernetes", str(k8s), "--merge"]
    arguments += ["--provenance", str(provenance), "--types", str(types), "--out", str(out)]
    assert generator.main(arguments) == 0
    table = json.loads(out.read_text(encoding="utf-8"))
    assert list(table["types"]) == [
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/vpc:Vpc",
        "kubernetes:storage.k8s.io/v1:StorageClass",
    ]
    assert table["types"]["aws:ec2/vpc:Vpc"] == kept
    assert table["types"]["aws:ec2/launchTemplate:LaunchTemplate"]["source"]["commit"] == "2" * 40
    assert table["sources"] == {
        "terraform-provider-aws:internal/service/ec2/ec2_launch_template.go": launch_template,
        "terraform-provider-aws:internal/service/ec2/vpc_.go": kept_source,
    }
    # This snippet's diff.go has no storage.k8s.io kinds: the identity rules only.
    assert [
        rule["path"] for rule in table["types"]["kubernetes:storage.k8s.io/v1:StorageClass"]["replaceOnChanges"]
    ] == [
        "metadata.name",
        "metadata.namespace",
    ]
    stale = json.loads(out.read_text(encoding="utf-8"))
    out.write_text(json.dumps({**stale, "formatVersion": generator.FORMAT_VERSION + 1}), encoding="utf-8")
    with pytest.raises(SystemExit, match="--merge: the table at --out is format"):
        generator.main(arguments)


def test_the_generator_stops_on_what_it_cannot_read(tmp_path: Path, generator: ModuleType) -> None:
    aws, k8s = checkouts(tmp_path)
    provenance = tmp_path / "provenance.json"
    provenance.write_text("{}", encoding="utf-8")
    for kind, message in (
        ("aws:ec2/vpc:Vpc", "internal/service/ec2/vpc_.go is not in"),
        ("aws:ec2/placementGroup:PlacementGroup", "add its Terraform type to AWS_TYPES"),
        ("random:index/randomId:RandomId", "no source of replace-on-change rules"),
    ):
        types = tmp_path / "types.txt"
        types.write_text(kind, encoding="utf-8")
        arguments = ["--terraform-provider-aws", str(aws), "--pulumi-kubernetes", str(k8s)]
        arguments += ["--provenance", str(provenance), "--types", str(types), "--out", str(tmp_path / "t.json")]
        with pytest.raises(SystemExit, match=message):
            generator.main(arguments)


def test_the_vendored_table_is_the_generators(generator: ModuleType) -> None:
    """Written by the generator at the format it writes, with an entry per type it knows, from the files it reads."""
    vendored: dict[str, Any] = json.loads(REPLACE_TABLE.read_text(encoding="utf-8"))
    assert vendored["formatVersion"] == generator.FORMAT_VERSION
    assert vendored["generatedBy"] == "scripts/replace_table.py"
    for kind, (tf_type, path) in generator.AWS_TYPES.items():
        source = vendored["types"][kind]["source"]
        assert (source["terraformType"], source["path"]) == (tf_type, path)
        assert vendored["sources"][f"terraform-provider-aws:{path}"]["commit"] == source["commit"]
    for kind, entry in generator.PROVIDER_ENTRIES.items():
        assert vendored["types"][kind]["replaceOnChanges"] == entry["replaceOnChanges"]
