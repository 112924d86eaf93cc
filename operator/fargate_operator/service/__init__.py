"""The ECS operations, implemented once over the custom resources; both adapters call this."""
