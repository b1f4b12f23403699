"""The providers' HTTP API: FastAPI routers over the workflows and the program database."""
