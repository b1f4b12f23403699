"""The providers' HTTP API: FastAPI routers over the services and the Temporal clients, their
JSON views, and errors as readable 4xx and 503s. `server` runs it; it loads no workflow code."""
