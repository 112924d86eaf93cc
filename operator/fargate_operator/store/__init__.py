"""The resources as the operator's loops and adapters see them: an in-memory watch cache."""
