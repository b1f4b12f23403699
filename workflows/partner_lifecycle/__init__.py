"""One partner's whole lifecycle with one provider, as a durable entity workflow.

candidate -> preferred (silver or gold) -> at_risk -> preferred again or removed;
blocked from any state. Provider actions are updates that return the new
state, reviews arrive as signals, and timers carry the effective date, the
grace period and the candidate's lapse.

- `workflow`: the workflow class, its run loop and its handlers;
- `rules`: the decisions, as pure functions: which requests the state allows, what is due next;
- `enrollment`, `transitions`, `blocking`: what the handlers and deadlines do, step by step;
- `effects`: the side effects they are made of (records, offer access, exclusives, messages);
"""

from workflows.partner_lifecycle.effects import KEPT_IN_STATE
from workflows.partner_lifecycle.rules import Deadline, DeadlineKind
from workflows.partner_lifecycle.workflow import PartnerLifecycleWorkflow

__all__ = [
    "KEPT_IN_STATE",
    "Deadline",
    "DeadlineKind",
    "PartnerLifecycleWorkflow",
]
