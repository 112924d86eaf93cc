"""ECS's documented lifecycle stages of a blue/green, linear or canary deployment, in order.

The specification the emulator's and the operator's deployment tests both check against, kept apart
from the emulator's own table (fargate_ecs_sim/staged.py) on purpose: a test that read the emulator's
order would pass whatever order it had. Source: botocore's ECS model, ServiceDeploymentLifecycleStage
(ECS developer guide, "Service deployment lifecycle stages").
"""

from __future__ import annotations

STAGES = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
]
# The prefix of a Lambda hook's ARN; the emulator's stand-in answers by the function's name.
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"
