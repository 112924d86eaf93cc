"""What to do: pure functions from desired (spec) + observed (ECS) to requests and status."""
