"""One exclusive agreement, from its grant through each review period and renewal to its end.

The `create` update grants the exclusive (or refuses the terms, and the run
ends). Each review period a durable timer scores the partner's orders under
the agreement; a breach opens a cure period, and a second breach in the term,
or one not cured in time, ends the exclusive. At term end the renewal criteria
renew it (continue-as-new under the same ID) or let it expire.

- `rules`: what the agreement decides, as pure functions of its state and the time.
- `reviews`: what each deadline brings: a period's review, a cure period's end, a term's end.
- `effects`: the activities, notices, search attributes and details it records on the way.
- `workflow`: `ExclusiveAgreementWorkflow`, its run loop and its handlers.
"""

from workflows.exclusive_agreement.rules import AgreementDeadline
from workflows.exclusive_agreement.workflow import UNCLAIMED_AFTER, ExclusiveAgreementWorkflow

__all__ = [
    "UNCLAIMED_AFTER",
    "AgreementDeadline",
    "ExclusiveAgreementWorkflow",
]
