"""An ECS emulator that IS moto's server, extended in-process with ECS's lifecycles.

Its own distribution (operator/ecs-sim/, `pip install -e operator/ecs-sim`): it imports moto, never
the operator. Run it with `fargate-ecs-sim --port 4566 [--step-seconds S]` (or `python -m
fargate_ecs_sim`); the test world's EcsEmulator (fargate_devenv.ecs_emulator) does. moto is imported
only inside that process (server.py and the modules it loads): the operator's image has no moto.
What it does, and the ECS documentation each behaviour follows: docs/ecs-emulator.md.
"""
