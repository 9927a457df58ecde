"""The tamper-evident audit log: hash-chained records, signed checkpoints, export, verify."""
