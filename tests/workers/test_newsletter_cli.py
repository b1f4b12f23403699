"""`partnerflow newsletter show|send|preview|on` in-process on the time-skipping server and the
real worker: a month sent once and shown with its progress, a partner's preview, and the
refusals in plain words."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from clients.partners import PartnerPrograms
from devstack.demo_data import SLIPPING, add_offer
from models.database import Database
from models.newsletter import month_before, month_bounds, month_label
from models.program import ProgramSettings
from store.newsletters import set_newsletter
from tests.helpers import Program, listed_partner
from tests.workers.cli_runner import cli_on


async def test_a_month_is_sent_once_shown_and_previewed(
    env, db: Database, programs: PartnerPrograms
) -> None:
    program = Program(db, env, ProgramSettings()).create()
    pid = program.provider_id
    now = await program.now()
    month = month_before(now)
    start, end = month_bounds(month)
    await program.add_reseller("team-a", SLIPPING, end=end, days=60)
    with db.transaction() as session:
        session.add(listed_partner(pid, "team-a"))
        offer = add_offer(session, pid, f"{pid}-2g", price=80.0)
        offer.name = "Fiber 2 Gig"
        offer.created_at = start + timedelta(days=1)
    cli = cli_on(db)
    temporal = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": programs.task_queue,
    }

    off = await asyncio.to_thread(cli, "newsletter", "send", pid, "--month", month, **temporal)
    assert off.exit_code == 1
    assert "the newsletter is off" in off.output
    # The time-skipping server has no Schedules: turning it on says so and leaves it off.
    on = await asyncio.to_thread(cli, "newsletter", "on", pid, **temporal)
    assert on.exit_code == 1 and "does not implement Schedules" in on.output
    assert "newsletter of " + pid + ": off" in cli("newsletter", "show", pid).output

    with db.transaction() as session:
        set_newsletter(session, pid, True, now)
    sent = await asyncio.to_thread(cli, "newsletter", "send", pid, "--month", month, **temporal)
    assert sent.exit_code == 0, sent.output
    workflow_id = f"newsletter/{pid}/{month}"
    assert f"newsletter for {month}: workflow {workflow_id}" in sent.output
    await env.client.get_workflow_handle(workflow_id).result()

    shown = cli("newsletter", "show", pid)
    assert shown.exit_code == 0, shown.output
    assert f"newsletter of {pid}: on, next sent " in shown.output
    row = next(line for line in shown.output.splitlines() if month in line)
    assert [cell.strip() for cell in row.split("│")[1:5]] == [month, "sent", "1", "1"]

    preview = cli("newsletter", "preview", pid, "team-a", "--month", month)
    assert preview.exit_code == 0, preview.output
    assert f"partner newsletter: {month_label(month)}" in preview.output
    assert "Fiber 2 Gig: $80.00 a month" in preview.output
    assert "Where to focus:" in preview.output

    bad = cli("newsletter", "preview", pid, "team-a", "--month", "2026-13")
    assert bad.exit_code == 1 and "is not a month such as 2026-11" in bad.output
    stranger = cli("newsletter", "preview", pid, "team-nobody")
    assert stranger.exit_code == 1 and "not on the preferred list" in stranger.output
