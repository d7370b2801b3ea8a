"""Kubernetes components: they take a `pulumi_kubernetes.Provider` and run on any cluster."""
