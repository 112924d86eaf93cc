"""HTTP front doors: the ECS-compatible REST adapter, health and metrics (and later MCP)."""
