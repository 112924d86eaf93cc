from fargate_operator.devenv.ecs_sim.server import main

main()
