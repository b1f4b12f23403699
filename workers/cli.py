"""`partnerflow`: the worker, the local stack, the database, a look at a partner or agreement."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from models.partner import PartnerState
from services.providers import create_provider
from workers.agreement_client import Agreements
from workers.agreement_views import agreement_table, events_table, scorecards_table, when
from workers.api_server import DEFAULT_API_HOST, DEFAULT_API_PORT, ApiPortTaken, serve_api
from workers.binaries import MissingBinary
from workers.dev import run_dev
from workers.dev_server import (
    DEFAULT_PORT,
    DEFAULT_STATE_DIR,
    DEFAULT_UI_PORT,
    DevConfig,
    DevServerError,
)
from workers.orders_cli import orders_app
from workers.partner_client import PartnerPrograms
from workers.settings import Settings
from workers.worker import (
    TemporalUnreachable,
    configure_logging,
    connect_temporal,
    display_url,
    open_database,
    run_worker,
)
from workers.workflow_requests import WorkflowNotFound

QUERY_TIMEOUT = timedelta(seconds=15)

app = typer.Typer(
    help="partnerflow: a reseller partner program as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The program database.", no_args_is_help=True)
partners_app = typer.Typer(help="Partners of a provider's program.", no_args_is_help=True)
agreements_app = typer.Typer(help="Exclusive agreements of a provider.", no_args_is_help=True)
providers_app = typer.Typer(help="Providers and their API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(partners_app, name="partners")
app.add_typer(agreements_app, name="agreements")
app.add_typer(orders_app, name="orders")
app.add_typer(providers_app, name="providers")

console = Console()
errors = Console(stderr=True)

T = TypeVar("T")


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def _run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning the failures a user can fix into a message and exit 1."""
    message: str
    try:
        return asyncio.run(main)
    except (
        TemporalUnreachable,
        DevServerError,
        MissingBinary,
        WorkflowNotFound,
        ApiPortTaken,
    ) as error:
        message = str(error)
    except SQLAlchemyError as error:
        message = f"the program database failed: {error}"
    finally:
        # A Temporal client left for the interpreter's final teardown can crash the process
        # (SIGSEGV/SIGABRT in the SDK's bridge, temporalio/sdk-python#300): collect it now.
        gc.collect()
    raise _fail(message)


@app.command()
def worker() -> None:
    """Run a worker for the partner program until SIGTERM or Ctrl-C.

    Configured by PARTNERFLOW_DATABASE_URL, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.
    """
    configure_logging()
    _run(run_worker(Settings()))


@app.command()
def dev(
    port: Annotated[
        int, typer.Option(envvar="PARTNERFLOW_DEV_PORT", help="Temporal's gRPC port.")
    ] = DEFAULT_PORT,
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
) -> None:
    """The local stack: Temporal dev server and UI, demo data, a worker. What `make run` runs."""
    settings = Settings()
    config = DevConfig(
        port=port, ui_port=ui_port, namespace=settings.temporal_namespace, state_dir=state_dir
    )
    configure_logging(log_file=config.app_log)
    _run(run_dev(config, settings, console))


@app.command()
def api(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = DEFAULT_API_HOST,
    port: Annotated[int, typer.Option(help="The port to listen on.")] = DEFAULT_API_PORT,
) -> None:
    """Serve the providers' HTTP API (OpenAPI page at /docs) until SIGTERM or Ctrl-C.

    Configured by PARTNERFLOW_DATABASE_URL, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.
    """
    configure_logging()
    _run(serve_api(Settings(), host, port))


@providers_app.command("create")
def providers_create(
    name: Annotated[str, typer.Option(help="The provider's name, e.g. 'Acme Fiber'.")],
    provider_id: Annotated[
        str | None, typer.Option("--id", help="Its ID (default: made from the name).")
    ] = None,
) -> None:
    """Create a provider with the default program, and print its ID and a new API key."""
    url = Settings().database_url
    try:
        db = open_database(url)
        with db.transaction() as session:
            created = create_provider(session, name, provider_id)
        db.engine.dispose()
    except ValueError as error:
        raise _fail(str(error)) from None
    except SQLAlchemyError as error:
        raise _fail(f"the program database at {display_url(url)} failed: {error}") from None
    console.print(f"provider  {created.provider_id}  ({created.name})")
    console.print(f"API key   {created.api_key}", soft_wrap=True, highlight=False)
    console.print("[dim]The key is shown once: keep it now. Send it as the x-api-key header.[/]")


@db_app.command("init")
def db_init() -> None:
    """Create the program database's tables (those that are missing) at PARTNERFLOW_DATABASE_URL."""
    url = Settings().database_url
    try:
        open_database(url).engine.dispose()
    except SQLAlchemyError as error:
        raise _fail(f"could not create the schema at {display_url(url)}: {error}") from None
    console.print(f"Schema ready at {display_url(url)}")


async def _ask(settings: Settings, query: Callable[[Client], Awaitable[T]]) -> T:
    """Query a workflow, saying what to do when no worker answers."""
    client = await connect_temporal(settings)
    try:
        return await asyncio.wait_for(query(client), QUERY_TIMEOUT.total_seconds())
    except TimeoutError:
        raise TemporalUnreachable(
            f"no worker answered within {QUERY_TIMEOUT.seconds} s: is one running? "
            "Start it with `partnerflow worker`, or the whole stack with `make run`."
        ) from None


def _state_table(state: PartnerState) -> Table:
    table = Table(
        title=f"{state.reseller_team_id} in the program of {state.provider_id}",
        title_justify="left",
        show_header=False,
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", state.status.value)
    table.add_row("tier", state.tier.value)
    table.add_row("enrolled", when(state.enrolled_at))
    table.add_row("grace deadline", when(state.grace_deadline))
    if state.failed_criteria:
        table.add_row("failing", "\n".join(c.describe() for c in state.failed_criteria))
    if state.last_review_id:
        table.add_row("last review", f"{state.last_review_id} ({when(state.last_review_at)})")
    table.add_row("notes", str(len(state.notes)))
    return table


def _transitions_table(state: PartnerState) -> Table:
    table = Table(title="transitions", title_justify="left")
    for column in ("#", "when", "status · tier"):
        table.add_column(column, no_wrap=True)
    table.add_column("why, and who")
    for t in state.transitions:
        status = f"{t.from_status.value if t.from_status else 'new'} → {t.to_status.value}"
        tier = (
            t.to_tier.value
            if t.from_tier is t.to_tier
            else f"{t.from_tier.value} → {t.to_tier.value}"
        )
        actor = t.actor.value + (f" {t.actor_id}" if t.actor_id else "")
        table.add_row(
            str(t.sequence), when(t.at), f"{status}\n{tier}", f"{t.reason}\n[dim]by {actor}[/]"
        )
    return table


@partners_app.command("show")
def partners_show(
    provider_id: Annotated[str, typer.Argument(help="The provider, e.g. acme.")],
    reseller_team_id: Annotated[str, typer.Argument(help="The reseller, e.g. team-northwind.")],
) -> None:
    """A partner's status, tier, grace deadline and transitions, as its workflow knows them."""
    settings = Settings()
    state = _run(
        _ask(
            settings,
            lambda client: PartnerPrograms(client, settings.task_queue).state(
                provider_id, reseller_team_id
            ),
        )
    )
    console.print(_state_table(state))
    console.print(_transitions_table(state))


@agreements_app.command("show")
def agreements_show(
    provider_id: Annotated[str, typer.Argument(help="The provider, e.g. acme.")],
    agreement_id: Annotated[str, typer.Argument(help="The agreement, e.g. seattle-metro-fiber.")],
) -> None:
    """An exclusive agreement's terms, standing, scorecards and history."""
    settings = Settings()
    state = _run(
        _ask(
            settings,
            lambda client: Agreements(client, settings.task_queue).state(provider_id, agreement_id),
        )
    )
    console.print(agreement_table(state))
    console.print(scorecards_table(state))
    console.print(events_table(state))


if __name__ == "__main__":
    app()
