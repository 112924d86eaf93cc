from fargate_ecs_sim.server import main

main()
