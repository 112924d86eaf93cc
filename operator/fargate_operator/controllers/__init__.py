"""One controller per kind, one protocol: observe (ECS, through the gateway) -> plan (pure) -> act.

Kopf handlers (`handlers/`) call these; the batched status refresh calls the same observe and
verdict code. The algorithms live here so that they can be tested in-process against a fake of
`Ecs` (tests/support/fake_ecs.py) instead of only through an operator process.
"""
