"""One model profile on Kubernetes: vLLM Deployment, Service, PodDisruptionBudget and KEDA ScaledObject."""

from __future__ import annotations

import copy

import pulumi

from components.k8s.objects import register
from llmscale.k8s.model_store import in_site_store
from llmscale.k8s.serving_args import VllmModelArgs


class VllmModel(pulumi.ComponentResource):
    """A model profile served by vLLM (`VllmModelArgs`): its own Deployment and scaling, so one lane cannot
    starve another.

    With a canary, a second Deployment and Service run the new image or model at a fixed size; the gateway
    sends them the canary's share of the traffic. `store://` models load from `model_store_bucket`, the model
    store of the site the Deployment runs in. `deployment` and `service` are the profile's main objects.
    """

    service_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: VllmModelArgs,
        *,
        autoscaler_ready: list[pulumi.Resource],
        depends_on: list[pulumi.Resource],
        model_store_bucket: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:VllmModel", name, None, opts)
        # Children do not inherit a component's dependencies: each waits for the namespace itself.
        child = pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        self.deployment = register(
            in_site_store(copy.deepcopy(args.deployment), model_store_bucket),
            # The autoscaler owns the replica count once the Deployment exists.
            pulumi.ResourceOptions(parent=self, depends_on=depends_on, ignore_changes=["spec.replicas"]),
            name=f"{name}-deployment",
        )
        self.service = register(args.service, child, name=f"{name}-service")
        register(args.disruption_budget, child, name=f"{name}-pdb")
        register(
            args.scaler,
            pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, self.deployment, *autoscaler_ready]),
            name=f"{name}-scaler",
        )
        if args.canary_deployment is not None:
            register(
                in_site_store(copy.deepcopy(args.canary_deployment), model_store_bucket),
                child,
                name=f"{name}-canary-deployment",
            )
        if args.canary_service is not None:
            register(args.canary_service, child, name=f"{name}-canary-service")
        self.service_name = pulumi.Output.from_input(args.workload)
        self.deployment_name = pulumi.Output.from_input(args.workload)
        self.register_outputs({"serviceName": self.service_name, "deploymentName": self.deployment_name})
