"""`llmscale simulate`: a day of traffic (or a week, or a region failure) played through a stack's planned objects.

`stack` reads what the plan would deploy, `traffic` makes the load, `engine` runs it (`cluster` and `state` hold the
pods, nodes and controllers while it runs) through the controllers'
semantics (`keda`, `hpa`, `nodes`, `vllm`, `gateway`, `failover`), `report` says what users and the bill would
see, `policies` turn it into policy findings.
"""
