"""`/reseller/...`: a reseller team's own view of the programs it sees, with its own key.

Every operation takes the team's `x-reseller-key` and reads that team's data only: a
provider it does not see, or another team's message or scorecard, is not found whatever ID
is in the URL. `/reseller/offers` is not here: it is the provider's look at what one
reseller sees (`api/offers.py`), and takes a provider's key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field

from api.deps import ResellerDep, ServicesDep, SessionDep
from api.views import Page
from models.program import Printable
from models.wire import MAX_ROW_ID, PATH_ID_PATTERN
from services import portal, portal_records
from services.portal import ProgramStanding, ProgramSummary, View
from services.portal_records import (
    InboxMessage,
    InboxMessageBody,
    QuarterlyScorecard,
    ResellerAgreement,
    SeenOffer,
)

router = APIRouter(prefix="/reseller", tags=["reseller portal"])

ProviderPath = Annotated[
    str, Path(min_length=1, max_length=100, pattern=PATH_ID_PATTERN), Printable
]
ProviderFilter = Annotated[
    str | None,
    Query(alias="providerId", min_length=1, max_length=100, pattern=PATH_ID_PATTERN),
]
QuarterPath = Annotated[
    str,
    Path(
        pattern=r"^\d{4}-Q[1-4]$",
        description="The quarter the review covered, like 2026-Q3.",
    ),
]


class Me(View):
    reseller_team_id: str
    name: str | None
    programs: list[ProgramSummary] = Field(
        description="The programs it sees: those whose list it is on, and those whose offers "
        "it sees."
    )


@router.get("/me", summary="Who the key is for, and the programs it sees")
def me(team: ResellerDep, db: SessionDep, svc: ServicesDep) -> Me:
    identity = portal.reseller_identity(db, team)
    return Me(
        reseller_team_id=team,
        name=identity.name,
        programs=portal.program_summaries(db, team, svc.clock()),
    )


@router.get("/programs", summary="The programs the reseller sees, and where it stands in each")
def programs(team: ResellerDep, db: SessionDep, svc: ServicesDep) -> list[ProgramSummary]:
    return portal.program_summaries(db, team, svc.clock())


@router.get("/programs/{provider_id}", summary="Where the reseller stands in one program")
def program_standing(
    provider_id: ProviderPath, team: ResellerDep, db: SessionDep, svc: ServicesDep
) -> ProgramStanding:
    """Status and tier; at risk, the grace deadline with the days left and the criteria of its
    tier to bring back above the line (`toFix`); each criterion of its tier and of the next
    with its value, the line and what reaching it takes; the notes the provider shared. The
    figures are over the program's metrics window ending now."""
    return portal.standing(db, provider_id, team, svc.clock())


@router.get("/programs/{provider_id}/offers", summary="The offers the reseller sees in a program")
def program_offers(provider_id: ProviderPath, team: ResellerDep, db: SessionDep) -> list[SeenOffer]:
    """Each with the price it gets and why it sees it: public, its tier, selected for it, or
    its exclusive agreement."""
    return portal_records.seen_offers(db, provider_id, team)


@router.get("/programs/{provider_id}/scorecards/{quarter}", summary="One quarterly scorecard")
def program_scorecard(
    provider_id: ProviderPath, quarter: QuarterPath, team: ResellerDep, db: SessionDep
) -> QuarterlyScorecard:
    return portal_records.scorecard(db, team, f"review/{provider_id}/quarterly/{quarter}")


@router.get("/scorecards", summary="The reseller's quarterly scorecards")
def scorecards(
    team: ResellerDep, db: SessionDep, provider_id: ProviderFilter = None
) -> list[QuarterlyScorecard]:
    """One for each quarterly review that acted while it was on a provider's list, newest
    first (at most 40): its figures over the quarter, its tier's criteria and the next's."""
    return portal_records.scorecards(db, team, provider_id)


@router.get("/agreements", summary="The reseller's exclusive agreements")
def agreements(
    team: ResellerDep, db: SessionDep, provider_id: ProviderFilter = None
) -> list[ResellerAgreement]:
    """Those in force first, each with its terms and its period scorecards (the latest 40)."""
    return portal_records.reseller_agreements(db, team, provider_id)


@router.get("/messages", summary="The messages the programs sent the reseller")
def messages(
    team: ResellerDep,
    db: SessionDep,
    provider_id: ProviderFilter = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, alias="pageSize")] = 50,
) -> Page[InboxMessage]:
    """Newest first, read from the outbox: what each program sent it, by any channel."""
    items, total = portal_records.inbox(
        db, team, provider_id=provider_id, page=page, page_size=page_size
    )
    return Page[InboxMessage](items=items, total=total, page=page, page_size=page_size)


@router.get("/messages/{message_id}", summary="One message, with its body")
def message(
    message_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], team: ResellerDep, db: SessionDep
) -> InboxMessageBody:
    return portal_records.inbox_message(db, team, message_id)
