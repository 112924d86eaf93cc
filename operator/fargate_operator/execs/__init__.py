"""ECS Exec for agents: the operator speaks the Session Manager data channel and returns the output."""
