"""fargate-operator: run AWS ECS Fargate workloads declaratively from Kubernetes."""

__version__ = "0.1.0"
