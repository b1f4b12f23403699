"""The offer-launch workflow's work: make an early-access offer public at its date, and tell
the partners who gained it. Each is keyed by the launch itself (the offer's own record of it,
one announcement per launch), so a retry changes nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol

from temporalio import activity

from models.contract import ActivityName
from models.database import Database
from models.offers import (
    LaunchAnnounced,
    LaunchAnnouncement,
    LaunchResult,
    OfferLaunch,
    launch_announcement_id,
)
from models.schema import Offer
from store.offer_access import launch_offer


class LaunchAnnouncer(Protocol):
    """Sends one announcement to a list of the provider's partners, once per ID
    (clients.offer_launches.LaunchAnnouncements)."""

    async def announce_once(
        self,
        provider_id: str,
        announcement_id: str,
        reseller_team_ids: list[str],
        subject: str,
        body: str,
    ) -> None: ...


def _message(offer: Offer) -> tuple[str, str]:
    """The announcement's subject and body: the offer's public name, never its internal one."""
    about = f" ({offer.category})" if offer.category else ""
    body = f"{offer.name}{about} is now open to you at {offer.monthly_price:,.2f} a month."
    if offer.description:
        body += f"\n\n{offer.description}"
    return f"Now open to you: {offer.name}", body


class OfferLaunchActivities:
    """Launches early-access offers and announces their launch."""

    def __init__(self, db: Database, announcer: LaunchAnnouncer | None = None) -> None:
        self._db = db
        self._announcer = announcer

    def launch(self, launch: OfferLaunch) -> LaunchResult:
        """Make the offer public if `launch` is still its launch; otherwise say why not."""
        with self._db.transaction() as session:
            return launch_offer(session, launch, datetime.now(UTC))

    @activity.defn(name=ActivityName.LAUNCH_OFFER)
    def launch_offer(self, launch: OfferLaunch) -> LaunchResult:
        return self.launch(launch)

    def _launched(self, launch: LaunchAnnouncement) -> tuple[str, str] | None:
        with self._db.transaction() as session:
            offer = session.get(Offer, launch.offer_id)
            if offer is None or offer.provider_id != launch.provider_id:
                return None
            return _message(offer)

    @activity.defn(name=ActivityName.ANNOUNCE_LAUNCH)
    async def announce_launch(self, launch: LaunchAnnouncement) -> LaunchAnnounced:
        """Announce the launch to the partners who gained the offer; once per launch."""
        if self._announcer is None or not launch.reseller_team_ids:
            return LaunchAnnounced(announcement_id=None, partners=0)
        message = await asyncio.to_thread(self._launched, launch)
        if message is None:
            return LaunchAnnounced(announcement_id=None, partners=0)
        announcement_id = launch_announcement_id(launch.offer_id, launch.launch_at)
        subject, body = message
        await self._announcer.announce_once(
            launch.provider_id, announcement_id, launch.reseller_team_ids, subject, body
        )
        return LaunchAnnounced(
            announcement_id=announcement_id, partners=len(launch.reseller_team_ids)
        )
