"""What a resource is: the shapes and rules the rest of the operator shares."""
