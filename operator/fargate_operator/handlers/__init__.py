"""Kopf wiring only: importing this package registers every handler."""

from fargate_operator.handlers import cluster, lifecycle, service, task, task_definition

__all__ = ["cluster", "lifecycle", "service", "task", "task_definition"]
