"""Processes and wiring: the worker, the CLI, the local stack."""
