"""A program change with an effective date and notice, over HTTP on the real worker, the
time-skipping server and the database: scheduled, announced, applied at its date, cancelled,
and previewed without a write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import ActivityEnvironment

from activities.notifications import NotificationActivities
from activities.program_changes import ProgramChangeActivities
from devstack.demo_data import GOOD, STRONG, WEAK
from models.contract import program_change_workflow_id
from models.program_change import ProgramChangeOutcome, ProgramChangeRef, ProgramChangeStatus
from models.schema import (
    Notification,
    PreferredListEntry,
    ProgramChangeRow,
    ProgramVersion,
    Provider,
    Reseller,
    ReviewSnapshot,
    TransitionLogEntry,
)
from models.search_attributes import PROVIDER_ID
from tests.api.conftest import ProviderApi
from tests.helpers import listed_partner, replay_histories

PROGRAM = "/provider/program"
NOTICE = "program_change_notice"
TIGHTER = {"silver": {"minOrdersPerMonth": 20}}
"""GOOD's 16 orders a month meet silver's 10 and would miss 20; STRONG's 60 meet both."""


async def partners(api: ProviderApi) -> None:
    """team-good and team-strong on the preferred list at silver; team-weak off it."""
    for team, profile in (("team-good", GOOD), ("team-strong", STRONG), ("team-weak", WEAK)):
        await api.program.add_reseller(team, profile)
    with api.program.db.transaction() as session:
        session.add(listed_partner(api.provider_id, "team-good"))
        session.add(listed_partner(api.provider_id, "team-strong"))
        # Names unlike the IDs, so that a message showing an ID shows.
        session.get_one(Provider, api.provider_id).name = "Acme Fiber"
        session.get_one(Reseller, "team-good").name = "Good Telecom"


async def in_days(api: ProviderApi, days: int) -> str:
    return (await api.program.now() + timedelta(days=days)).isoformat()


async def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def notices(api: ProviderApi, team: str) -> list[Notification]:
    return api.program.notifications(team, NOTICE)


async def test_a_tightening_with_a_date_is_announced_now_and_applied_at_the_date(env, db, acme):
    await partners(acme)
    saved = await ok(
        await acme.patch(PROGRAM, {**TIGHTER, "effectiveDate": await in_days(acme, 30)})
    )
    assert (saved["status"], saved["version"], saved["silver"]["minOrdersPerMonth"]) == (
        "scheduled",
        2,
        20,
    )
    assert saved["effectiveAt"]

    before = await ok(await acme.get(PROGRAM))
    assert (before["version"], before["silver"]["minOrdersPerMonth"]) == (1, 10)
    assert "status" not in before
    scheduled = before["scheduledChange"]
    assert (scheduled["version"], scheduled["status"]) == (2, "scheduled")
    assert scheduled["settings"]["silver"]["minOrdersPerMonth"] == 20
    with db.transaction() as session:
        assert session.get_one(Provider, acme.provider_id).program_version == 1

    [notice] = await acme.program.sent("team-good", NOTICE)
    assert notice.idempotency_key == f"program-change/{acme.provider_id}/2/team-good"
    assert "silver orders/month: 10 → 20" in notice.body
    assert "orders/month 16" in notice.body and "< 20" in notice.body
    assert scheduled["effectiveAt"][:10] in notice.body + notice.subject
    for internal in (acme.provider_id, "team-good", "program-change"):
        assert internal not in notice.body and internal not in notice.subject
    assert notices(acme, "team-strong") == [] and notices(acme, "team-weak") == []

    # The activity again, as a retry would run it: the partner is not told twice.
    activities = ProgramChangeActivities(db, NotificationActivities(db))
    again = ActivityEnvironment().run(
        activities.record_program_notices,
        ProgramChangeRef(provider_id=acme.provider_id, version=2),
    )
    assert again.partners == 1 and len(notices(acme, "team-good")) == 1

    handle = env.client.get_workflow_handle(program_change_workflow_id(acme.provider_id, 2))
    described = await handle.describe()
    assert described.typed_search_attributes.get(PROVIDER_ID) == acme.provider_id
    assert "version 2" in (await described.static_summary() or "")
    await env.sleep(timedelta(days=31))
    outcome = await handle.result()
    assert ProgramChangeOutcome.model_validate(outcome).status is ProgramChangeStatus.APPLIED
    assert await replay_histories(env.client, {handle.id}) == 1

    after = await ok(await acme.get(PROGRAM))
    assert (after["version"], after["silver"]["minOrdersPerMonth"]) == (2, 20)
    assert "scheduledChange" not in after
    history = await ok(await acme.get(f"{PROGRAM}/versions"))
    assert [item["version"] for item in history["items"]] == [2, 1]
    # Applying once more (a retry after the commit) changes nothing.
    applied = ActivityEnvironment().run(
        activities.apply_program_change,
        ProgramChangeRef(provider_id=acme.provider_id, version=2),
    )
    assert (applied.status, applied.changed) == (ProgramChangeStatus.APPLIED, False)
    assert len(notices(acme, "team-good")) == 1


async def test_a_change_without_a_date_applies_at_once_and_still_announces(acme):
    await partners(acme)
    saved = await ok(await acme.patch(PROGRAM, TIGHTER))
    assert (saved["version"], saved["silver"]["minOrdersPerMonth"]) == (2, 20)
    assert "status" not in saved and "effectiveAt" not in saved
    assert (await ok(await acme.get(PROGRAM)))["version"] == 2
    await acme.program.sent("team-good", NOTICE)
    assert notices(acme, "team-strong") == []


async def test_a_looser_change_or_a_past_date_applies_at_once_and_tells_nobody(env, acme):
    await partners(acme)
    saved = await ok(
        await acme.patch(PROGRAM, {"gracePeriodDays": 60, "effectiveDate": "2020-01-01"})
    )
    assert (saved["version"], saved["gracePeriodDays"]) == (2, 60) and "status" not in saved
    with acme.program.db.transaction() as session:
        assert session.query(ProgramChangeRow).count() == 0
    assert notices(acme, "team-good") == []


async def test_a_second_change_waits_for_the_first_to_be_cancelled(env, acme):
    await partners(acme)
    await ok(
        await acme.patch(PROGRAM, {"gracePeriodDays": 60, "effectiveDate": await in_days(acme, 10)})
    )
    refused = await acme.put(PROGRAM, {"gracePeriodDays": 50})
    assert refused.status_code == 409
    assert "DELETE /provider/program/scheduled" in refused.json()["detail"]

    cancelled = await ok(await acme.delete(f"{PROGRAM}/scheduled"))
    assert (cancelled["version"], cancelled["status"]) == (2, "cancelled")
    handle = env.client.get_workflow_handle(program_change_workflow_id(acme.provider_id, 2))
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await acme.delete(f"{PROGRAM}/scheduled")).status_code == 404
    current = await ok(await acme.get(PROGRAM))
    assert (current["version"], current["gracePeriodDays"]) == (1, 45)
    assert "scheduledChange" not in current

    # The cancelled version keeps its number (and its workflow's ID): the next is 3.
    assert (await ok(await acme.put(PROGRAM, {"gracePeriodDays": 50})))["version"] == 3


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"effectiveDate": "2020-01-01", "gracePeriodDays": 10}, "gracePeriodDays"),
        ({"effectiveDate": "next tuesday"}, "effectiveDate"),
        ({"effectiveDate": "2026-12-01T10:00:00"}, "effectiveDate"),  # no time zone
        ({"effectiveDate": "2999-01-01"}, "effectiveDate must be at most two years ahead"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(acme, body, named):
    for send in (acme.put, acme.patch):
        response = await send(PROGRAM, body)
        assert response.status_code == 422, response.text
        assert named in response.json()["detail"]
    assert "effectiveDate" not in (await acme.put(PROGRAM, body)).json()["detail"] or (
        named.startswith("effectiveDate")
    )


def counts(api: ProviderApi) -> dict[str, int]:
    tables = (
        Notification,
        PreferredListEntry,
        ProgramChangeRow,
        ProgramVersion,
        ReviewSnapshot,
        TransitionLogEntry,
    )
    found = {table.__tablename__: api.program.count_rows(table) for table in tables}
    with api.program.db.transaction() as session:
        found["version"] = session.get_one(Provider, api.provider_id).program_version
    return found


async def test_a_preview_lists_who_would_be_put_at_risk_and_writes_nothing(acme):
    await partners(acme)
    before = counts(acme)
    preview = await ok(await acme.post(f"{PROGRAM}/preview", TIGHTER))
    assert counts(acme) == before
    assert preview["versionInForce"] == 1 and preview["judged"] == 3
    assert preview["affected"] == 1
    [row] = preview["resellers"]
    assert row["resellerTeamId"] == "team-good"
    assert (row["inForce"]["outcome"], row["changedTo"]["outcome"]) == ("unchanged", "at_risk")
    assert row["changedTo"]["statusAfter"] == "at_risk"
    assert any("orders/month" in c and "< 20" in c for c in row["changedTo"]["failedCriteria"])
    assert preview["countsChangedTo"]["at_risk"] == 1
    assert preview["countsInForce"].get("at_risk", 0) == 0

    nothing = await ok(await acme.post(f"{PROGRAM}/preview", {}))
    assert (nothing["affected"], nothing["resellers"]) == (0, [])
    refused = await acme.post(f"{PROGRAM}/preview", {"gracePeriodDays": 10})
    assert refused.status_code == 422 and "gracePeriodDays" in refused.json()["detail"]
