"""The progressive response on the time-skipping server: a friendly notice, a formal one, then
at risk, each sent once and each report kept in the partner's history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clients.partners import PartnerNotFound, PartnerPrograms, PartnerRequestRejected
from devstack.demo_data import GOOD
from models.partner import (
    AtRiskFlag,
    BlockRequest,
    EnrollmentRequest,
    IssueReport,
    IssueResponse,
    IssueSeverity,
    NoteKind,
    PartnerStatus,
    RemovalRequest,
)
from models.program import ProgramSettings
from models.schema import PartnerNote
from tests.helpers import Program

DAY = timedelta(days=1)


@pytest.fixture
async def partner(env, db, programs: PartnerPrograms) -> tuple[Program, str]:
    program = Program(db, env, ProgramSettings()).create()
    team = await program.add_reseller("team-late", GOOD)
    await programs.enroll(program.provider_id, team, EnrollmentRequest())
    await program.sent(team, "welcome")
    return program, team


def issue_notes(program: Program, team: str) -> list[PartnerNote]:
    with program.db.transaction() as session:
        return list(
            session.scalars(
                select(PartnerNote)
                .where(
                    PartnerNote.provider_id == program.provider_id,
                    PartnerNote.reseller_team_id == team,
                    PartnerNote.kind == NoteKind.ISSUE.value,
                )
                .order_by(PartnerNote.id)
            )
        )


async def test_a_friendly_notice_then_a_formal_one_then_at_risk(programs, partner):
    program, team = partner
    report = programs.apply

    state = await report(program.provider_id, team, IssueReport(reason="missed 3 installs"))
    assert state.status is PartnerStatus.PREFERRED
    [friendly] = await program.sent(team, "friendly_notice")
    assert "missed 3 installs" in friendly.body and "formal notice" in friendly.body
    assert (
        friendly.subject
        == f"A friendly note from Provider {program.provider_id} about your service"
    )

    await program.sleep(20 * DAY)
    state = await report(
        program.provider_id, team, IssueReport(reason="a billing complaint", requested_by="ops")
    )
    assert state.status is PartnerStatus.PREFERRED
    [formal] = await program.sent(team, "formal_notice")
    assert "2 issues with your" in formal.body
    assert "missed 3 installs" in formal.body and "a billing complaint" in formal.body
    assert "puts your silver status at risk" in formal.body

    await program.sleep(20 * DAY)
    state = await report(program.provider_id, team, IssueReport(reason="no-show again"))
    assert state.status is PartnerStatus.AT_RISK and state.grace_deadline is not None
    assert state.at_risk_reason == ("3 issues reported within 90 days, the latest: no-show again")
    [warning] = await program.sent(team, "at_risk_warning")
    assert "3 issues reported within 90 days" in warning.body
    assert "This follows 2 earlier issue(s) reported within 90 days." in warning.body
    assert f"Deadline: {state.grace_deadline:%Y-%m-%d}." in warning.body

    # Each notice once, in order; each report is an issue note, in the state and the database.
    assert [n.kind for n in program.notifications(team)] == [
        "welcome",
        "friendly_notice",
        "formal_notice",
        "at_risk_warning",
    ]
    assert [i.response for i in state.issues] == [
        IssueResponse.FRIENDLY_NOTICE,
        IssueResponse.FORMAL_NOTICE,
        IssueResponse.AT_RISK,
    ]
    notes = issue_notes(program, team)
    assert [n.text for n in notes] == [
        "minor issue reported, friendly notice: missed 3 installs",
        "minor issue reported, formal notice: a billing complaint",
        "minor issue reported, at risk: no-show again",
    ]
    assert notes[1].author == "ops"
    assert program.logged_transitions(team)[-1].to_status == PartnerStatus.AT_RISK.value

    # At risk already: another issue is another formal notice, not a second grace period.
    state = await report(program.provider_id, team, IssueReport(reason="late again"))
    assert state.status is PartnerStatus.AT_RISK
    assert len(await program.sent(team, "formal_notice", count=2)) == 2
    assert len(program.notifications(team, "at_risk_warning")) == 1


async def test_issues_outside_the_window_start_over_and_serious_ones_count_twice(programs, partner):
    program, team = partner
    await programs.apply(program.provider_id, team, IssueReport(reason="late install"))
    await program.sleep(91 * DAY)

    state = await programs.apply(program.provider_id, team, IssueReport(reason="late again"))
    assert [i.response for i in state.issues] == [IssueResponse.FRIENDLY_NOTICE], "window passed"
    assert len(await program.sent(team, "friendly_notice", count=2)) == 2

    state = await programs.apply(
        program.provider_id,
        team,
        IssueReport(reason="a customer was overcharged", severity=IssueSeverity.SERIOUS),
    )
    assert state.status is PartnerStatus.AT_RISK
    assert [i.response for i in state.issues][-1] is IssueResponse.AT_RISK
    assert program.notifications(team, "formal_notice") == []


async def test_a_serious_first_issue_gets_a_formal_notice(programs, partner):
    program, team = partner
    state = await programs.apply(
        program.provider_id,
        team,
        IssueReport(reason="fake orders", severity=IssueSeverity.SERIOUS),
    )
    assert state.status is PartnerStatus.PREFERRED
    [formal] = await program.sent(team, "formal_notice")
    assert "a serious issue with your service" in formal.body
    assert program.notifications(team, "friendly_notice") == []


async def test_only_partners_on_the_list_can_be_reported(programs, partner):
    program, team = partner
    await programs.apply(program.provider_id, team, BlockRequest(reason="fraud under review"))
    with pytest.raises(PartnerRequestRejected, match="team-late is blocked"):
        await programs.apply(program.provider_id, team, IssueReport(reason="late"))
    await programs.apply(program.provider_id, team, RemovalRequest(reason="fraud confirmed"))
    # A removed partner's run closes once its removal notice is delivered: refused until then.
    with pytest.raises((PartnerNotFound, PartnerRequestRejected)) as refused:
        await programs.apply(program.provider_id, team, IssueReport(reason="late"))
    if isinstance(refused.value, PartnerRequestRejected):
        assert "team-late is removed" in str(refused.value)
    with pytest.raises(ValueError, match="reason must not be empty"):
        IssueReport(reason="  ")


async def test_an_issue_on_a_partner_already_at_risk_gets_a_formal_notice(programs, partner):
    program, team = partner
    flagged = await programs.apply(
        program.provider_id, team, AtRiskFlag(reason="installs late all spring")
    )
    assert flagged.status is PartnerStatus.AT_RISK and flagged.grace_deadline is not None

    state = await programs.apply(program.provider_id, team, IssueReport(reason="a no-show"))
    assert state.status is PartnerStatus.AT_RISK
    assert [i.response for i in state.issues] == [IssueResponse.FORMAL_NOTICE]
    [formal] = await program.sent(team, "formal_notice")
    deadline = f"{flagged.grace_deadline:%Y-%m-%d}"
    assert "This is a formal notice" in formal.body and "a no-show" in formal.body
    assert f"already at risk, with a deadline of {deadline}" in formal.body
    assert "puts your silver status at risk" not in formal.body
    assert program.notifications(team, "friendly_notice") == []
    assert len(program.notifications(team, "at_risk_warning")) == 1


async def test_issues_alone_put_a_partner_at_risk_and_say_so(programs, partner):
    """Its figures meet silver: the warning says the issues are the reason and what resolves
    them, and at the deadline, its figures still meeting silver, it recovers."""
    program, team = partner
    await programs.apply(
        program.provider_id,
        team,
        IssueReport(reason="overcharged a customer", severity=IssueSeverity.SERIOUS),
    )
    state = await programs.apply(program.provider_id, team, IssueReport(reason="a no-show"))
    assert state.status is PartnerStatus.AT_RISK and state.failed_criteria == []
    [warning] = await program.sent(team, "at_risk_warning")
    assert "Reason: 2 issues reported within 90 days, the latest: a no-show" in warning.body
    assert "The issues reported are the reason, not your figures: they meet" in warning.body
    assert "resolve the issues reported" in warning.body
    assert "bring your service back" not in warning.body
    assert "you stay a silver partner in good standing" in warning.body

    assert state.grace_deadline is not None
    await program.sleep(state.grace_deadline - await program.now() - DAY)
    await program.add_orders(team, GOOD, days=60, prefix="steady")  # still meeting silver
    await program.sleep(2 * DAY)
    [recovered] = await program.sent(team, "recovered")
    assert "in good standing" in recovered.body
    assert (await programs.state(program.provider_id, team)).status is PartnerStatus.PREFERRED
