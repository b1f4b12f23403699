"""Blocking a partner from some of the provider's offers or from all of them, and lifting it."""

from __future__ import annotations

from temporalio import workflow

from workflows.partner_lifecycle.effects import PartnerEffects
from workflows.patches import PATCH_EXCLUSIVES_END_ON_BLOCK

with workflow.unsafe.imports_passed_through():
    from models.notifications import NotificationKind
    from models.partner import ActorKind, BlockRequest, PartnerStatus, UnblockRequest


class Blocking(PartnerEffects):
    """A block keeps the partner's standing: lifting it returns the partner where it was."""

    async def _block(self, request: BlockRequest) -> None:
        s = self.state
        was_listed = s.status.on_preferred_list
        offer_ids = sorted(set(request.offer_ids))
        if offer_ids:
            s.blocked_offer_ids = sorted(set(s.blocked_offer_ids) | set(offer_ids))
            await self._transition(
                s.status,
                s.tier,
                f"blocked from offers {', '.join(offer_ids)}: {request.reason}",
                ActorKind.PROVIDER,
                request.requested_by,
            )
        else:
            s.status_before_block = s.status
            await self._transition(
                PartnerStatus.BLOCKED,
                s.tier,
                f"blocked from all offers: {request.reason}",
                ActorKind.PROVIDER,
                request.requested_by,
            )
        await self._sync_offer_access(request.reason)
        if was_listed and workflow.patched(PATCH_EXCLUSIVES_END_ON_BLOCK):
            await self._end_blocked_exclusives(request.reason, offer_ids)
        await self._notify(
            NotificationKind.BLOCKED,
            self._context(reason=request.reason, offer_ids=offer_ids),
        )

    async def _unblock(self, request: UnblockRequest) -> None:
        s = self.state
        to_status = s.status_before_block or s.status
        s.status_before_block = None
        s.blocked_offer_ids = []
        await self._transition(
            to_status,
            s.tier,
            f"unblocked: {request.reason}",
            ActorKind.PROVIDER,
            request.requested_by,
        )
        await self._sync_offer_access(request.reason)
        await self._notify(
            NotificationKind.UNBLOCKED,
            self._context(reason=request.reason),
        )
