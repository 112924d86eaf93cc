"""Generators of committed files (CRDs) from botocore's ECS model; see generate.py."""
