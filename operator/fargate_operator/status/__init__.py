"""The one writer of status, conditions and Events: precedence.py composes, writer.py writes."""
