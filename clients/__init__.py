"""The Temporal clients: how the API, the CLI and the worker's fan-out start and steer workflows.

They name workflows, updates, signals and queries by their contract names
(`models.contract`) and never import a workflow module, so a process that only
asks Temporal for things loads no workflow or activity code.
"""
