"""The command line in this process, on a test's program database."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner, Result

from cli.app import app
from models.database import Database

runner = CliRunner()
Invoke = Callable[..., Result]


def cli_on(db: Database) -> Invoke:
    """`partnerflow ARGS...` on `db`; keywords are more environment variables (None unsets
    one), e.g. TEMPORAL_ADDRESS."""
    url = db.engine.url.render_as_string(hide_password=False)

    def invoke(*args: str, **env: str | None) -> Result:
        return runner.invoke(
            app, list(args), env={"COLUMNS": "200", "PARTNERFLOW_DATABASE_URL": url, **env}
        )

    return invoke
