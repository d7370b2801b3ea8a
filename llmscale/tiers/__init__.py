"""The three tiers as typed arguments: what a tier component needs, and how a stack's config becomes them."""
