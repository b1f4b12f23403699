"""What the workflows ask of the world: each activity is a method of a class that holds its
dependencies, named in `models.contract`, and idempotent. The SQL they share with the
services lives in `store/`; they never import the services."""
