"""Offers and who can see them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.program import Frozen, Tier


class Visibility(StrEnum):
    PUBLIC = "public"
    PREFERRED = "preferred"
    SELECTED = "selected"


class AccessSource(StrEnum):
    """Why a reseller may see a non-public offer."""

    PREFERRED = "preferred"
    SELECTED = "selected"


class OfferAccessChange(Frozen):
    """The offer access a partner should have now; the activity makes the database match it.

    `tier` None means no preferred-offer access. Blocks are replaced by the
    given set, so repeating the same change is harmless.
    """

    provider_id: str
    reseller_team_id: str
    tier: Tier | None
    revoke_selected: bool = False
    blocked_offer_ids: list[str] = Field(default_factory=list)
    block_all: bool = False
    reason: str


class OfferAccessResult(Frozen):
    granted: list[str] = Field(default_factory=list)
    revoked: list[str] = Field(default_factory=list)
    blocked: list[str] = Field(default_factory=list)
