"""An infra team's own Pulumi program with an llmscale enterprise tier in it: arguments in code, no stack file.

    pulumi config set aws:region eu-west-1
    pulumi config set --secret apiKeys '{"chat-app": "<key>"}'
    pulumi up

The tier is held to the same checks as a stack file (`llmscale validate`) and builds what
`stacks/Pulumi.enterprise.yaml` would: two regions, the model store, DNS failover, under one
`llmscale:index:EnterpriseTier` component.
"""

import pulumi
from pydantic import SecretStr

from llmscale.tiers import AwsEksPlatform, EksConfig, EnterpriseTier, EnterpriseTierArgs, FailoverConfig, ModelProfile

config = pulumi.Config()

llm = EnterpriseTier(
    "acme-llm",
    EnterpriseTierArgs(
        platform=AwsEksPlatform(
            region=pulumi.Config("aws").require("region"),
            eks=EksConfig(public_access_cidrs=["203.0.113.0/24"]),
        ),
        models=[ModelProfile(name="chat", model="meta-llama/Llama-3.1-8B-Instruct", min_replicas=3, max_replicas=8)],
        failover=FailoverConfig(
            hosted_zone_id="Z0123456789ABCDEFGHIJ", record_name="llm.acme.example", standby_region="eu-central-1"
        ),
        # A secret in the stack's config; SecretStr keeps it out of reprs, the tier stores it as a Pulumi secret.
        api_keys=SecretStr(config.require("apiKeys")),
    ),
)

pulumi.export("llmEndpoint", llm.endpoint)
pulumi.export("llmBaseUrls", llm.outputs["baseUrls"])
