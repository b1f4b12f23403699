"""`/provider/announcements`: one message to an audience of the provider's partners, now or at
a scheduled time, each partner's copy through the outbox; listed with its progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import Field

from api.deps import ProviderDep, ServicesDep, SessionDep
from api.views import ApiModel, Page
from models.announcement import AnnouncementRequest
from models.wire import PATH_ID_PATTERN
from services import announcements
from services.announcements import AnnouncementRecord

router = APIRouter(prefix="/provider/announcements", tags=["announcements"])
AnnouncementId = Annotated[str, Path(min_length=1, max_length=100, pattern=PATH_ID_PATTERN)]


class ProgressView(ApiModel):
    """The announcement's messages in the outbox by status (`pending` counts those being tried)."""

    recorded: int
    pending: int
    sent: int
    bounced: int
    failed: int


class AnnouncementView(ApiModel):
    announcement_id: str
    workflow_id: str = Field(description="The announcement's workflow in the Temporal UI.")
    kind: str
    subject: str
    body: str
    audience: dict[str, Any]
    send_at: datetime
    status: str = Field(description="scheduled, recording, sending, sent or cancelled")
    recipients: int | None = Field(description="How many partners it went to, once recorded.")
    created_by: str
    created_at: datetime
    settled_at: datetime | None
    progress: ProgressView

    @classmethod
    def of(cls, record: AnnouncementRecord) -> AnnouncementView:
        return cls.model_validate(
            {**record.model_dump(exclude={"audience"}), "audience": record.audience.stored()}
        )


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Send or schedule an announcement")
async def send_announcement(
    body: AnnouncementRequest, provider: ProviderDep, svc: ServicesDep
) -> AnnouncementView:
    """Recorded at once and sent by its workflow at `sendAt` (now if left out), once to each
    partner of the audience, through the outbox and the provider's channel. Until then
    `DELETE` cancels it."""
    record = await svc.announcements.send(svc.db, provider, body, now=svc.clock())
    return AnnouncementView.of(record)


@router.get("", summary="The provider's announcements, newest first, with their progress")
def list_announcements(
    provider: ProviderDep,
    db: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, alias="pageSize")] = 50,
) -> Page[AnnouncementView]:
    records, total = announcements.list_announcements(db, provider, page=page, page_size=page_size)
    return Page[AnnouncementView](
        items=[AnnouncementView.of(record) for record in records],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/{announcement_id}", summary="One announcement and its progress")
def get_announcement(
    announcement_id: AnnouncementId, provider: ProviderDep, db: SessionDep
) -> AnnouncementView:
    return AnnouncementView.of(announcements.get_announcement(db, provider, announcement_id))


@router.delete("/{announcement_id}", summary="Cancel an announcement waiting for its time")
async def cancel_announcement(
    announcement_id: AnnouncementId, provider: ProviderDep, svc: ServicesDep
) -> AnnouncementView:
    """Nothing of it is sent; 409 once its time came (it is being sent, or was)."""
    record = await svc.announcements.cancel(svc.db, provider, announcement_id)
    return AnnouncementView.of(record)
