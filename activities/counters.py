"""partnerflow's own counters, served beside the SDK's metrics on the worker's Prometheus endpoint.

Each is counted once per effect, not per attempt: only when the activity
actually wrote the transition or sent the message. Without a metrics endpoint
(PARTNERFLOW_METRICS_ADDRESS unset) they cost nothing.
"""

from __future__ import annotations

from temporalio import activity

PARTNER_TRANSITIONS = "partnerflow_partner_transitions"
NOTIFICATIONS_SENT = "partnerflow_notifications_sent"


def _add_one(name: str, description: str, labels: dict[str, str]) -> None:
    if activity.in_activity():
        activity.metric_meter().create_counter(name, description).add(1, labels)


def count_transition(to_status: str, actor: str) -> None:
    _add_one(
        PARTNER_TRANSITIONS,
        "Partner state transitions recorded, by the state entered and who caused it",
        {"to_status": to_status, "actor": actor},
    )


def count_notification(kind: str, recipient: str) -> None:
    _add_one(
        NOTIFICATIONS_SENT,
        "Notifications delivered, by kind and recipient",
        {"kind": kind, "recipient": recipient},
    )
