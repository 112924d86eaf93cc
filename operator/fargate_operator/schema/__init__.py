"""botocore's ECS model and the JSON schemas built from its shapes: read by the runtime (gateway, REST
adapter, MCP tools, drift and tenancy rules) and by codegen (the CRDs) alike."""
