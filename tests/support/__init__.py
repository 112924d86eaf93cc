"""Support code the tests share: processes, worlds and helpers, one module per subject."""
