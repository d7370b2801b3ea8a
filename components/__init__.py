"""Pulumi components of llmscale: `aws/` builds cloud resources, `tiers` composes them per tier."""
