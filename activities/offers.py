"""The activities that grant and revoke a partner's access to offers."""

from __future__ import annotations

from temporalio import activity

from models.contract import ActivityName
from models.database import Database
from models.offers import OfferAccessChange, OfferAccessResult
from store.offer_access import apply_access_change


class OfferAccessActivities:
    """Grants and revokes a partner's access to the provider's non-public offers."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _apply(self, change: OfferAccessChange) -> OfferAccessResult:
        with self._db.transaction() as session:
            result = apply_access_change(session, change)
        activity.logger.info(
            "offer access of %s: granted %s, revoked %s, blocked %s",
            change.reseller_team_id,
            result.granted,
            result.revoked,
            result.blocked,
        )
        return result

    @activity.defn(name=ActivityName.GRANT_PREFERRED_OFFERS)
    def grant_preferred_offers(self, change: OfferAccessChange) -> OfferAccessResult:
        return self._apply(change)

    @activity.defn(name=ActivityName.REVOKE_OFFER_ACCESS)
    def revoke_offer_access(self, change: OfferAccessChange) -> OfferAccessResult:
        return self._apply(change)
