"""Event-driven status: ECS's events from SQS queues, routed to the objects they concern.

Driven by handlers/event_status.py.
"""
