"""What happens over time: deterministic workflows, no I/O (the activities do it).

Each entity workflow is a package whose rules are pure functions beside the class that
runs them; `patches` lists every change made to running workflows and how far along it is.
"""
