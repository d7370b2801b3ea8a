"""`llmscale simulate`: a day of traffic (or a week, or a region failure) played through a stack's planned objects.

`stack` reads what the plan would deploy; `traffic` makes the load; `engine` plays it, with `cluster` driving pods,
nodes and controllers and `state` holding them while it runs, each following its upstream's semantics (`keda`,
`hpa`, `nodes`, `vllm`, `gateway`, `failover`, `cron`); `report` says what users and the bill would see, `plot`
draws it, `policies` and `verdict` turn it into policy findings and the plan summary's line.
"""
