"""One model profile on Kubernetes: vLLM Deployment, Service, PodDisruptionBudget and KEDA ScaledObject."""

from __future__ import annotations

import pulumi

from components.k8s.objects import register
from llmscale.config.models import ModelProfile, StackConfig
from llmscale.k8s.autoscaling import scaled_object_manifest
from llmscale.k8s.labels import workload_name
from llmscale.k8s.model_store import in_site_store
from llmscale.k8s.workload import deployment_manifest, pod_disruption_budget_manifest, service_manifest


class VllmModel(pulumi.ComponentResource):
    """A model profile served by vLLM: its own Deployment and scaling, so one lane cannot starve another.

    With a canary, a second Deployment and Service run the new image or model at a fixed size; the gateway
    sends them the canary's share of the traffic.
    """

    service_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        config: StackConfig,
        profile: ModelProfile,
        has_hf_token: bool,
        autoscaler_ready: list[pulumi.Resource],
        depends_on: list[pulumi.Resource],
        standby: bool = False,
        aws_region: str | None = None,
        model_store_bucket: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:VllmModel", name, None, opts)
        # Children do not inherit a component's dependencies: each waits for the namespace itself.
        child = pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        deployment = register(
            in_site_store(
                deployment_manifest(config, profile, has_hf_token=has_hf_token, standby=standby, aws_region=aws_region),
                model_store_bucket,
            ),
            # The autoscaler owns the replica count once the Deployment exists.
            pulumi.ResourceOptions(parent=self, depends_on=depends_on, ignore_changes=["spec.replicas"]),
            name=f"{name}-deployment",
        )
        service = register(service_manifest(config, profile), child, name=f"{name}-service")
        register(pod_disruption_budget_manifest(config, profile), child, name=f"{name}-pdb")
        register(
            scaled_object_manifest(config, profile),
            pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, deployment, *autoscaler_ready]),
            name=f"{name}-scaler",
        )
        if profile.canary is not None:
            register(
                in_site_store(
                    deployment_manifest(
                        config, profile, canary=True, has_hf_token=has_hf_token, standby=standby, aws_region=aws_region
                    ),
                    model_store_bucket,
                ),
                child,
                name=f"{name}-canary-deployment",
            )
            register(service_manifest(config, profile, canary=True), child, name=f"{name}-canary-service")
        self.service_name = pulumi.Output.from_input(workload_name(profile))
        self.deployment_name = pulumi.Output.from_input(workload_name(profile))
        self.register_outputs({"serviceName": self.service_name, "deploymentName": self.deployment_name})
        self._service = service
