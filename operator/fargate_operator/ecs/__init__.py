"""How we talk to ECS: one gateway (client, threads, retries, limits, errors, metrics)."""
