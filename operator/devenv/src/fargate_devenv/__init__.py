"""The local test world: a node-less Kubernetes control plane and an ECS emulator.

Used by the pytest fixtures and by ``fargate-devenv run`` (``make run``).
"""
