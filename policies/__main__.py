"""llmscale policy pack for `pulumi preview --policy-pack policies`: adapts the rules of llmscale.policy."""

from pulumi_policy import PolicyPack

from llmscale.policy.crossguard import PACK_NAME, crossguard_policies

PolicyPack(name=PACK_NAME, policies=crossguard_policies())
