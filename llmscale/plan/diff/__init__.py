"""What changes between two offline plans: resources created, deleted, replaced and updated, and why.

`llmscale plan STACK --json` on the base branch and on a pull request give two documents; `diff_plans` compares
them the way the Pulumi engine would compare the program with the stack's state, as far as a plan can tell:

- Resources are matched by URN (type chain and name). A URN only in the new plan is created, only in the old one
  deleted.
- Inputs are compared property by property. A changed property is named by its path (`spec.template.metadata.
  labels["app.kubernetes.io/name"]`, `args[3]`). Changes under a resource's `ignoreChanges` are set aside, as
  Pulumi would.
- Whether a change replaces the resource comes from `replacements/replace_on_change.json`, generated from the
  providers' source (terraform-provider-aws `ForceNew`, pulumi-kubernetes' `forceNew` table; see its
  SOURCES.md), plus the program's own `replaceOnChanges`. Rules upstream applies only under a condition the
  plans cannot evaluate make the resource "possibly replaced".
- Providers: when a provider's replace-forcing config changes (the stack's `aws:region`, an explicit provider's
  `region`, a Kubernetes provider's kubeconfig or context), the engine replaces the provider and every resource
  it manages (pulumi/pulumi pkg/resource/deploy/step_generator.go, `providerChanged`); so does a resource moved
  to a provider whose config differs that way.
- Cascades: a replaced resource's outputs are unknown until it exists again, so every input that reads one
  (the plan records, per input, the resources it comes from) changes too: the dependant is "possibly replaced"
  when that input forces replacement and updated otherwise, and the diff names the chain
  (`subnetIds ← …-private-0 ← …-vpc (replace: cidrBlock)`). An update in place keeps a resource's id but may
  renew outputs its provider computes anew on change (an EC2 launch template's `latestVersion`: every update is a
  new template version); inputs that read a resource whose update renews one change too, in place.

Both plans are redacted already (secrets `[secret]`, computed values `(known after apply)`): secrets compare
equal, so a changed secret does not show, and a property that is a secret on either side shows as `[secret]`
on both, so the diff never prints what a secret was or became.
"""

from __future__ import annotations

from llmscale.plan.diff.changes import policy_changes
from llmscale.plan.diff.compare import diff_plans
from llmscale.plan.diff.document import diff_document
from llmscale.plan.diff.model import (
    ACTIONS,
    AUTHORITATIVE_NOTE,
    CREATE,
    CRITICAL_TYPES,
    DELETE,
    DIFF_FORMAT_VERSION,
    DISRUPTIVE_UPDATES,
    POSSIBLY_REPLACE,
    REPLACE,
    REPLACE_TABLE,
    UNCHANGED,
    UPDATE,
    PlanDiff,
    PlanFileError,
    PropertyChange,
    PropertyPath,
    ResourceAction,
    ResourceChange,
    ResourceRef,
    Segment,
    Verdict,
    critical_category,
    make_verdict,
)
from llmscale.plan.diff.plan_files import load_plan, validate_plan
from llmscale.plan.diff.replace_table import RecomputedOutput, ReplaceRule, TypeRules, replace_table, rules_for
from llmscale.plan.diff.text import change_header, format_value, render_diff_text, value_lines
from llmscale.plan.diff.values import diff_values, format_path, parse_path

__all__ = [
    "ACTIONS",
    "AUTHORITATIVE_NOTE",
    "CREATE",
    "CRITICAL_TYPES",
    "DELETE",
    "DIFF_FORMAT_VERSION",
    "DISRUPTIVE_UPDATES",
    "POSSIBLY_REPLACE",
    "REPLACE",
    "REPLACE_TABLE",
    "UNCHANGED",
    "UPDATE",
    "PlanDiff",
    "PlanFileError",
    "PropertyChange",
    "PropertyPath",
    "RecomputedOutput",
    "ReplaceRule",
    "ResourceAction",
    "ResourceChange",
    "ResourceRef",
    "Segment",
    "TypeRules",
    "Verdict",
    "change_header",
    "critical_category",
    "diff_document",
    "diff_plans",
    "diff_values",
    "format_path",
    "format_value",
    "load_plan",
    "make_verdict",
    "parse_path",
    "policy_changes",
    "render_diff_text",
    "replace_table",
    "rules_for",
    "validate_plan",
    "value_lines",
]
