"""The program database's shared reads and writes, below both the activities and the services.

Partner metrics, offer access, delivery settings and their secrets, and the
messages rendered from templates: the worker's activities and the provider-facing
services both use them, and neither imports the other.
"""
