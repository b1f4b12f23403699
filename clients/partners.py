"""How providers' requests reach partner workflows: typed calls with errors a person can read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypedDict, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from clients.requests import (
    RequestRejected,
    WorkflowNotFound,
    call_workflow,
    poll_until,
    rejection_message,
)
from models.contract import (
    PARTNER_WORKFLOW,
    TASK_QUEUE,
    QueryName,
    SignalName,
    UpdateName,
    partner_workflow_id,
)
from models.partner import (
    AtRiskFlag,
    BlockRequest,
    EnrollmentRequest,
    GraceChange,
    IssueReport,
    Nomination,
    NoteInput,
    PartnerState,
    PartnerStatus,
    PartnerWorkflowInput,
    ProviderAction,
    RemovalRequest,
    ReviewSignal,
    TierChange,
    UnblockRequest,
)
from models.program import Tier
from models.search_attributes import PARTNER_STATUS, PARTNER_TIER, PROVIDER_ID, RESELLER_TEAM_ID
from models.summaries import partner_static_details, partner_summary, standing

R = TypeVar("R")


class PartnerRequestRejected(RequestRejected):
    """The partner workflow refused a request; the message says why."""


class PartnerNotFound(WorkflowNotFound):
    """No partner workflow runs for this provider and reseller."""


_UPDATES: dict[type[ProviderAction], UpdateName] = {
    AtRiskFlag: UpdateName.FLAG_AT_RISK,
    GraceChange: UpdateName.CHANGE_GRACE_DEADLINE,
    TierChange: UpdateName.CHANGE_TIER,
    BlockRequest: UpdateName.BLOCK,
    UnblockRequest: UpdateName.UNBLOCK,
    RemovalRequest: UpdateName.REMOVE,
    NoteInput: UpdateName.ADD_NOTE,
    IssueReport: UpdateName.REPORT_ISSUE,
}


class PartnerStart(TypedDict):
    """How a partner workflow starts, whether by an enrollment or a nomination."""

    id: str
    task_queue: str
    id_conflict_policy: WorkflowIDConflictPolicy
    id_reuse_policy: WorkflowIDReusePolicy
    search_attributes: TypedSearchAttributes
    static_summary: str
    static_details: str


def _enrolled_as(request: EnrollmentRequest) -> str:
    """`preferred, silver` (from its effective date, if later): what an enrollment makes."""
    later = f" from {request.effective_date:%Y-%m-%d}" if request.effective_date else ""
    return f"{standing(PartnerStatus.PREFERRED, request.tier)}{later}"


class PartnerPrograms:
    """Start and steer partner workflows of any provider."""

    def __init__(
        self, client: Client, task_queue: str = TASK_QUEUE, max_history_events: int | None = None
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self._max_history_events = max_history_events

    def _input(self, provider_id: str, reseller_team_id: str) -> PartnerWorkflowInput:
        extra = {"max_history_events": self._max_history_events} if self._max_history_events else {}
        return PartnerWorkflowInput(
            provider_id=provider_id, reseller_team_id=reseller_team_id, **extra
        )

    def _start_options(self, provider_id: str, reseller_team_id: str, start: str) -> PartnerStart:
        """How a partner workflow starts; `start` says, in the UI, what this run began as."""
        return PartnerStart(
            id=partner_workflow_id(provider_id, reseller_team_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(PROVIDER_ID, provider_id),
                    SearchAttributePair(RESELLER_TEAM_ID, reseller_team_id),
                    SearchAttributePair(PARTNER_STATUS, PartnerStatus.CANDIDATE.value),
                    SearchAttributePair(PARTNER_TIER, Tier.BRONZE.value),
                ]
            ),
            static_summary=partner_summary(provider_id, reseller_team_id, start),
            static_details=partner_static_details(provider_id, reseller_team_id),
        )

    def handle(self, provider_id: str, reseller_team_id: str) -> WorkflowHandle[Any, PartnerState]:
        return self.client.get_workflow_handle(
            partner_workflow_id(provider_id, reseller_team_id), result_type=PartnerState
        )

    async def enroll(
        self, provider_id: str, reseller_team_id: str, request: EnrollmentRequest
    ) -> PartnerState:
        """Enroll through update-with-start: the same request twice makes one partner."""
        try:
            state: PartnerState = await self.client.execute_update_with_start_workflow(
                UpdateName.ENROLL,
                request,
                start_workflow_operation=WithStartWorkflowOperation(
                    PARTNER_WORKFLOW,
                    self._input(provider_id, reseller_team_id),
                    result_type=PartnerState,
                    **self._start_options(provider_id, reseller_team_id, _enrolled_as(request)),
                ),
                id=f"enroll/{request.request_id}" if request.request_id else None,
                result_type=PartnerState,
            )
        except WorkflowUpdateFailedError as error:
            raise PartnerRequestRejected(rejection_message(error)) from error
        return state

    async def nominate(
        self, provider_id: str, reseller_team_id: str, nomination: Nomination
    ) -> None:
        """Make a reseller a candidate, starting its workflow if it has none."""
        await self.client.start_workflow(
            PARTNER_WORKFLOW,
            self._input(provider_id, reseller_team_id),
            start_signal=SignalName.NOMINATE,
            start_signal_args=[nomination],
            **self._start_options(
                provider_id, reseller_team_id, f"candidate for {nomination.tier.value}"
            ),
        )

    async def review(
        self,
        provider_id: str,
        reseller_team_id: str,
        signal: ReviewSignal,
        *,
        request_id: str | None = None,
    ) -> None:
        """Send a review's finding; the server drops a second signal with the same `request_id`."""
        if request_id is None:
            await self._call(
                provider_id,
                reseller_team_id,
                lambda h: h.signal(SignalName.REVIEW, signal),
            )
            return
        # The SDK gives each signal a fresh request ID; the raw call lets a retried
        # fan-out reuse one, so the server itself deduplicates the repeat.
        request = SignalWorkflowExecutionRequest(
            namespace=self.client.namespace,
            workflow_execution=WorkflowExecution(
                workflow_id=partner_workflow_id(provider_id, reseller_team_id)
            ),
            signal_name=SignalName.REVIEW,
            identity=self.client.identity,
            request_id=request_id,
        )
        request.input.payloads.extend(await self.client.data_converter.encode([signal]))
        try:
            await self.client.workflow_service.signal_workflow_execution(request, retry=True)
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                raise PartnerNotFound(
                    f"{reseller_team_id} is not a partner of provider {provider_id}"
                ) from error
            raise

    async def state(self, provider_id: str, reseller_team_id: str) -> PartnerState:
        return await self._call(
            provider_id,
            reseller_team_id,
            lambda h: h.query(QueryName.GET_STATE, result_type=PartnerState),
        )

    async def wait_for(
        self,
        provider_id: str,
        reseller_team_id: str,
        condition: Callable[[PartnerState], bool],
        *,
        timeout: float,
        interval: float = 0.05,
    ) -> PartnerState:
        """Query the partner until `condition` holds: a signal has no reply to wait on."""
        return await poll_until(
            lambda: self.state(provider_id, reseller_team_id),
            condition,
            timeout=timeout,
            interval=interval,
            describe=lambda state: (
                f"{reseller_team_id} of {provider_id} is still {state.status.value}"
            ),
        )

    async def apply(
        self, provider_id: str, reseller_team_id: str, request: ProviderAction
    ) -> PartnerState:
        """Send a provider action (flag, grace change, tier, block, unblock, remove, note,
        issue)."""
        update = _UPDATES.get(type(request))
        if update is None:
            raise TypeError(f"no partner update takes a {type(request).__name__}")
        update_id = f"{update.value}/{request.request_id}" if request.request_id else None
        return await self._call(
            provider_id,
            reseller_team_id,
            lambda h: h.execute_update(update, request, id=update_id, result_type=PartnerState),
        )

    async def _call(
        self,
        provider_id: str,
        reseller_team_id: str,
        call: Callable[[WorkflowHandle[Any, Any]], Awaitable[R]],
    ) -> R:
        return await call_workflow(
            self.handle(provider_id, reseller_team_id),
            call,
            rejected=PartnerRequestRejected,
            not_found=lambda: PartnerNotFound(
                f"{reseller_team_id} is not a partner of provider {provider_id}"
            ),
        )
