"""The worker process: every workflow and activity wired onto the task queue."""
