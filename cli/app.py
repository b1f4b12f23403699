"""`partnerflow`: the worker, the local stack, the database, a look at a partner or agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.groups import LazyGroups
from cli.support import ask, console, fail, program_database, run, valid
from runtime.logs import configure_logging
from runtime.ports import (
    DEFAULT_API_HOST,
    DEFAULT_API_PORT,
    DEFAULT_TEMPORAL_PORT,
    DEFAULT_UI_PORT,
)
from runtime.settings import DEFAULT_STATE_DIR, Settings

app = typer.Typer(
    help="partnerflow: a reseller partner program as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    cls=LazyGroups,
)
agreements_app = typer.Typer(help="Exclusive agreements of a provider.", no_args_is_help=True)
providers_app = typer.Typer(help="Providers and their API keys.", no_args_is_help=True)
app.add_typer(agreements_app, name="agreements")
app.add_typer(providers_app, name="providers")


@app.command()
def worker() -> None:
    """Run a worker for the partner program until SIGTERM or Ctrl-C.

    Configured by PARTNERFLOW_DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
    PARTNERFLOW_METRICS_ADDRESS and PARTNERFLOW_LOG_FORMAT. It refuses a database
    whose schema is not this version's: run `partnerflow db upgrade` first.
    """
    from workers.worker import run_worker

    settings = valid(Settings)
    configure_logging(settings.log_format, settings.log_level)
    run(run_worker(settings))


@app.command()
def dev(
    port: Annotated[
        int, typer.Option(envvar="PARTNERFLOW_DEV_PORT", help="Temporal's gRPC port.")
    ] = DEFAULT_TEMPORAL_PORT,
    ui_port: Annotated[
        int, typer.Option(envvar="PARTNERFLOW_DEV_UI_PORT", help="The Temporal web UI's port.")
    ] = DEFAULT_UI_PORT,
    state_dir: Annotated[
        Path,
        typer.Option(
            envvar="PARTNERFLOW_STATE_DIR",
            help="Where the Temporal and SQLite databases and the logs are kept.",
        ),
    ] = DEFAULT_STATE_DIR,
    api_port: Annotated[
        int, typer.Option(envvar="PARTNERFLOW_DEV_API_PORT", help="The HTTP API's port.")
    ] = DEFAULT_API_PORT,
) -> None:
    """The local stack: Temporal dev server and UI, demo data, a worker and the HTTP API.
    What `make run` runs. The worker's Prometheus metrics are on 127.0.0.1:9464, or
    PARTNERFLOW_METRICS_ADDRESS."""
    from devstack.dev_server import DevConfig
    from devstack.stack import run_dev

    settings = valid(Settings)
    config = DevConfig(
        port=port,
        ui_port=ui_port,
        namespace=settings.temporal_namespace,
        state_dir=state_dir,
        api_port=api_port,
    )
    configure_logging(settings.log_format, settings.log_level, log_file=config.app_log)
    run(run_dev(config, settings, console))


@app.command()
def api(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = DEFAULT_API_HOST,
    port: Annotated[int, typer.Option(help="The port to listen on.")] = DEFAULT_API_PORT,
) -> None:
    """Serve the providers' HTTP API (OpenAPI page at /docs) until SIGTERM or Ctrl-C.

    Configured by PARTNERFLOW_DATABASE_URL, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.
    """
    from api.server import serve_api

    settings = valid(Settings)
    configure_logging(settings.log_format, settings.log_level)
    run(serve_api(settings, host, port))


@providers_app.command("create")
def providers_create(
    name: Annotated[str, typer.Option(help="The provider's name, e.g. 'Acme Fiber'.")],
    provider_id: Annotated[
        str | None, typer.Option("--id", help="Its ID (default: made from the name).")
    ] = None,
) -> None:
    """Create a provider with the default program, and print its ID and a new API key.

    Its monthly and quarterly review Schedules are created too when Temporal answers;
    otherwise the worker creates them when it starts.
    """
    from cli.reviews import create_schedules
    from services.providers import create_provider

    with program_database() as session:
        try:
            created = create_provider(session, name, provider_id)
        except ValueError as error:
            raise fail(str(error)) from None
    console.print(f"provider  {created.provider_id}  ({created.name})")
    console.print(f"API key   {created.api_key}", soft_wrap=True, highlight=False)
    console.print("[dim]The key is shown once: keep it now. Send it as the x-api-key header.[/]")
    console.print(run(create_schedules(Settings(), created.provider_id)), highlight=False)


@agreements_app.command("show")
def agreements_show(
    provider_id: Annotated[str, typer.Argument(help="The provider, e.g. acme.")],
    agreement_id: Annotated[str, typer.Argument(help="The agreement, e.g. seattle-metro-fiber.")],
) -> None:
    """An exclusive agreement's terms, standing, scorecards and history."""
    from cli.agreement_tables import agreement_table, events_table, scorecards_table
    from clients.agreements import Agreements

    settings = Settings()
    state = run(
        ask(
            settings,
            lambda client: Agreements(client, settings.task_queue).state(provider_id, agreement_id),
        )
    )
    console.print(agreement_table(state))
    console.print(scorecards_table(state))
    console.print(events_table(state))


if __name__ == "__main__":
    app()
