"""AWS decisions as pure functions (network, EKS, IAM, model store, DNS, tags) and the preflight checks
against an account."""
