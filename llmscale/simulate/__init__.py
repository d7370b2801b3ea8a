"""`llmscale simulate`: a day of traffic (or a week, or a region failure) played through a stack's planned objects.

`stack` reads what the plan would deploy, `traffic` makes the load, `engine` runs it through the controllers'
semantics (`keda`, `hpa`, `nodes`, `vllm`, `gateway`, `failover`), `report` says what users and the bill would
see, `policies` turn it into policy findings.
"""
