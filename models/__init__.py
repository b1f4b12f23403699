"""What things are: the partner program's domain types and its database schema.

Modules here that workflows import (everything but ``schema`` and ``database``)
do no I/O, so the workflow sandbox can load them.
"""
