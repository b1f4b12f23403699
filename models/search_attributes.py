"""The custom search attributes as the SDK's typed keys, for workflows and clients that set them."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

from models.contract import SearchAttribute

PROVIDER_ID = SearchAttributeKey.for_keyword(SearchAttribute.PROVIDER_ID)
RESELLER_TEAM_ID = SearchAttributeKey.for_keyword(SearchAttribute.RESELLER_TEAM_ID)
PARTNER_STATUS = SearchAttributeKey.for_keyword(SearchAttribute.PARTNER_STATUS)
PARTNER_TIER = SearchAttributeKey.for_keyword(SearchAttribute.PARTNER_TIER)
GRACE_DEADLINE = SearchAttributeKey.for_datetime(SearchAttribute.GRACE_DEADLINE)
AGREEMENT_STATUS = SearchAttributeKey.for_keyword(SearchAttribute.AGREEMENT_STATUS)
