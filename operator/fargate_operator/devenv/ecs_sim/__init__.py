"""An ECS emulator that IS moto's server, extended in-process with ECS's lifecycle (issue 13).

Run it with `python -m fargate_operator.devenv.ecs_sim --port N [--step-seconds S]`; devenv's
EcsEmulator does. moto is imported only inside that process (server.py and the modules it loads):
the operator never imports this package, and its image has no moto. What it does, and the ECS
documentation each behaviour follows: docs/ecs-emulator.md.
"""
