"""Leader election over a Kubernetes Lease: the timing rules (lease.py) and the elector thread (elector.py)."""
