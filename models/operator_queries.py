"""The list filters an operator types into the Temporal UI, written once.

The README shows each one for the demo provider; the tests run each one
against the dev server's visibility and check what comes back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models.contract import (
    AGREEMENT_WORKFLOW,
    MESSAGE_DELIVERY_WORKFLOW,
    PARTNER_WORKFLOW,
    REVIEW_WORKFLOW,
)

_PLACEHOLDER = re.compile(r"\{(provider|team|from|to)\}")


@dataclass(frozen=True)
class OperatorQuery:
    """A visibility query with `{provider}`, `{team}`, `{from}` and `{to}` to fill in."""

    purpose: str
    template: str

    def render(
        self,
        provider: str,
        team: str | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> str:
        """The query for one provider (and reseller, and `[from, to]` window where it has them)."""
        values = {"provider": provider}
        if team is not None:
            values["team"] = team
        if window is not None:
            values |= {"from": _instant(window[0]), "to": _instant(window[1])}
        text = self.template
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        missing = _PLACEHOLDER.findall(text)
        if missing:
            raise ValueError(f"the query for {self.purpose!r} needs {', '.join(missing)}")
        return text


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def this_week(now: datetime) -> tuple[datetime, datetime]:
    """Monday 00:00 UTC of `now`'s week, and the Monday after."""
    monday = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday -= timedelta(days=monday.weekday())
    return monday, monday + timedelta(days=7)


PARTNERS = OperatorQuery(
    "every partner of a provider",
    f'ProviderId = "{{provider}}" AND WorkflowType = "{PARTNER_WORKFLOW}"',
)
AT_RISK = OperatorQuery(
    "its partners at risk", 'ProviderId = "{provider}" AND PartnerStatus = "at_risk"'
)
GRACE_ENDS_THIS_WEEK = OperatorQuery(
    "its partners at risk whose grace period ends this week",
    'ProviderId = "{provider}" AND PartnerStatus = "at_risk" '
    'AND GraceDeadline BETWEEN "{from}" AND "{to}"',
)
GOLD_IN_GOOD_STANDING = OperatorQuery(
    "its gold partners in good standing",
    'ProviderId = "{provider}" AND PartnerTier = "gold" AND PartnerStatus = "preferred"',
)
REMOVED = OperatorQuery(
    "the partnerships that ended in removal",
    'ProviderId = "{provider}" AND PartnerStatus = "removed" AND ExecutionStatus = "Completed"',
)
RESELLER = OperatorQuery(
    "everything about one reseller: its partnerships and exclusives", 'ResellerTeamId = "{team}"'
)
EXCLUSIVES_IN_FORCE = OperatorQuery(
    "its exclusive agreements in force, in breach or not",
    f'ProviderId = "{{provider}}" AND WorkflowType = "{AGREEMENT_WORKFLOW}" '
    'AND AgreementStatus IN ("active", "in_breach")',
)
EXCLUSIVES_IN_BREACH = OperatorQuery(
    "its exclusive agreements in breach, in their cure period",
    f'ProviderId = "{{provider}}" AND WorkflowType = "{AGREEMENT_WORKFLOW}" '
    'AND AgreementStatus = "in_breach"',
)
REVIEWS = OperatorQuery(
    "its program reviews, those its Schedules started included",
    f'ProviderId = "{{provider}}" AND WorkflowType = "{REVIEW_WORKFLOW}"',
)
MESSAGES_ON_THEIR_OWN = OperatorQuery(
    "its messages delivered on their own: sent again, or handed over by a run that closed",
    f'ProviderId = "{{provider}}" AND WorkflowType = "{MESSAGE_DELIVERY_WORKFLOW}"',
)

OPERATOR_QUERIES = (
    PARTNERS,
    AT_RISK,
    GRACE_ENDS_THIS_WEEK,
    GOLD_IN_GOOD_STANDING,
    REMOVED,
    RESELLER,
    EXCLUSIVES_IN_FORCE,
    EXCLUSIVES_IN_BREACH,
    REVIEWS,
    MESSAGES_ON_THEIR_OWN,
)
