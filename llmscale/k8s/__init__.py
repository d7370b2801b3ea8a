"""Kubernetes objects of the serving layer as pure functions of the stack config (plain manifests)."""
