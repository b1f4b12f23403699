"""Every change made to workflows that had runs open: its patch ID, what it changed, and the
stage it is in, after samples-python's `patching/`:

1. the initial code, before any patch;
2. `workflow.patched(ID)`: the new branch for new runs, the old one kept for the runs whose
   histories predate it (all of partnerflow's patches are here);
3. `workflow.deprecate_patch(ID)`: the new branch alone, once no run from before the patch is
   open;
4. the patch call removed, once no run is open that recorded the deprecation.

A patch moves on a stage only when `runs_from_before` lists nothing for it. The Python SDK
does not set the `TemporalChangeVersion` search attribute that the Go and Java SDKs set, so
the query asks by start time: a run that started before the release carrying the patch
may hold the old branch. It over-counts (such a run may have taken the new branch on its
first task after the release), never under-counts. A run that continued as new started
afresh on the code of its time, so its StartTime tells. An ID is recorded in histories:
never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contract import (
        AGREEMENT_WORKFLOW,
        PARTNER_WORKFLOW,
        REVIEW_WORKFLOW,
    )


class Stage(StrEnum):
    PATCHED = "2: patched"
    DEPRECATED = "3: deprecated"


@dataclass(frozen=True)
class Patch:
    id: str
    workflow_types: tuple[str, ...]
    change: str
    stage: Stage = Stage.PATCHED


PATCH_FIRST_REQUEST_DECIDES = "first-request-decides"
PATCH_CONTEXT_LOADED_ONCE = "context-loaded-once"
PATCH_ENROLL_IN_ONE_TASK = "enroll-in-one-task"
PATCH_EXCLUSIVES_END_ON_REMOVAL = "exclusives-end-on-removal"
PATCH_EXCLUSIVES_END_ON_BLOCK = "exclusives-end-on-block"
PATCH_DELIVERY_APART = "delivery-apart-from-recording"
PATCH_HANDED_OVER_ON_CLOSE = "deliveries-handed-over-on-close"
PATCH_PROVIDER_TOLD_OF_END = "provider-told-of-end"
PATCH_PAST_PERIOD_AUDIT = "past-period-review-audits"
PATCH_UNRATED_NOT_MET = "unrated-not-met"
PATCH_MESSAGES_TELL_THE_TRUTH = "messages-tell-the-truth"
PATCH_NO_VERDICT_ON_OLDER_DATA = "no-verdict-on-older-data"
PATCH_WELCOME_WITH_ENROLLMENT = "welcome-recorded-with-enrollment"
PATCH_REVIEW_IN_ONE_TASK = "review-verdict-in-one-task"
PATCH_NOMINATION_IN_ONE_TASK = "nomination-in-one-task"

PATCHES = (
    Patch(
        PATCH_FIRST_REQUEST_DECIDES,
        (PARTNER_WORKFLOW,),
        "a run started by a request lets that request finish, and ends at once if it was "
        "refused, instead of idling as a candidate",
    ),
    Patch(
        PATCH_CONTEXT_LOADED_ONCE,
        (PARTNER_WORKFLOW,),
        "an enrollment reuses the program context its request loaded instead of loading it again",
    ),
    Patch(
        PATCH_ENROLL_IN_ONE_TASK,
        (PARTNER_WORKFLOW,),
        "an enrollment answers after one workflow task: one local activity reads the program "
        "and metrics and writes the enrollment; the welcome follows the answer",
    ),
    Patch(
        PATCH_EXCLUSIVES_END_ON_REMOVAL,
        (PARTNER_WORKFLOW,),
        "removing a partner ends its exclusive agreements",
    ),
    Patch(
        PATCH_EXCLUSIVES_END_ON_BLOCK,
        (PARTNER_WORKFLOW,),
        "a block that covers an exclusive's offer ends the exclusive",
    ),
    Patch(
        PATCH_DELIVERY_APART,
        (PARTNER_WORKFLOW, AGREEMENT_WORKFLOW, REVIEW_WORKFLOW),
        "a message is recorded in the outbox under the lock and delivered on the side, instead "
        "of recorded and delivered in one awaited activity",
    ),
    Patch(
        PATCH_HANDED_OVER_ON_CLOSE,
        (PARTNER_WORKFLOW, AGREEMENT_WORKFLOW),
        "a closing run hands its unfinished deliveries to workflows of their own after a while "
        "instead of waiting up to two days for them",
    ),
    Patch(
        PATCH_PROVIDER_TOLD_OF_END,
        (AGREEMENT_WORKFLOW,),
        "the provider is told too when an agreement ends without its action",
    ),
    Patch(
        PATCH_PAST_PERIOD_AUDIT,
        (REVIEW_WORKFLOW,),
        "a review of a period older than the last one ended assesses and reports only: it "
        "wakes no partner and sends no scorecard",
    ),
    Patch(
        PATCH_UNRATED_NOT_MET,
        (PARTNER_WORKFLOW,),
        "a reseller with no ratings yet fails the rating criterion unless its program judges "
        "unrated resellers without it, instead of always meeting it",
    ),
    Patch(
        PATCH_MESSAGES_TELL_THE_TRUTH,
        (PARTNER_WORKFLOW,),
        "an issue on a partner already at risk sends a formal notice with its grace deadline; "
        "a review is named by its period, not its ID, in the reasons a partner reads",
    ),
    Patch(
        PATCH_NO_VERDICT_ON_OLDER_DATA,
        (PARTNER_WORKFLOW,),
        "a review whose window ends no later than the partner's latest transition is recorded "
        "but changes nothing: its data is older than that decision",
    ),
    Patch(
        PATCH_WELCOME_WITH_ENROLLMENT,
        (PARTNER_WORKFLOW,),
        "an enrollment's local activity puts the welcome in the outbox with the enrollment; "
        "the workflow only delivers it, instead of recording it by an activity of its own",
    ),
    Patch(
        PATCH_REVIEW_IN_ONE_TASK,
        (PARTNER_WORKFLOW,),
        "a review's verdict on a partner (its transition, offer access and notice) is written "
        "by one local activity in the workflow task that took the review, instead of an "
        "activity each; the workflow then only delivers the notice",
    ),
    Patch(
        PATCH_NOMINATION_IN_ONE_TASK,
        (PARTNER_WORKFLOW,),
        "a review's nomination carries its program: the new candidate's transition and the "
        "provider's notice are written by one local activity in the workflow task that took "
        "it, instead of reading the program and writing each by an activity of its own",
    ),
)


def runs_from_before(patch: Patch, released: datetime) -> str:
    """The visibility query for the open runs that started before `released` (when the
    release carrying `patch` started its workers): those that may still take its old branch."""
    types = ", ".join(f'"{name}"' for name in patch.workflow_types)
    at = released.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'WorkflowType IN ({types}) AND ExecutionStatus = "Running" AND StartTime < "{at}"'
