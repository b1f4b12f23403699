"""Failures of the worker behind a request are a 503 that says so, never a 500."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from temporalio.client import WorkflowQueryFailedError

from api.errors import install_error_handlers


async def test_a_query_the_workflow_could_not_answer_is_a_503():
    """A query fails when the workflow's task fails in the worker, as the SDK's deadlock
    detector made it under CPU starvation; the exception is the SDK's own, raised here."""
    app = FastAPI()
    install_error_handlers(app, max_body_bytes=1024)

    @app.get("/state")
    async def state() -> None:
        raise WorkflowQueryFailedError("Potential deadlock detected: workflow didn't yield")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as http:
        response = await http.get("/state")
    assert response.status_code == 503
    assert response.json()["detail"] == (
        "the workflow could not answer now, try again: "
        "Potential deadlock detected: workflow didn't yield"
    )
