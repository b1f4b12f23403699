"""What happens over time: deterministic workflows. No I/O here; activities do it."""
