"""How providers create and steer exclusive agreements: typed calls with readable refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

from clients.requests import (
    RequestRejected,
    WorkflowNotFound,
    call_workflow,
    poll_until,
    rejection_message,
)
from models.agreement import (
    AgreementAmendment,
    AgreementRequest,
    AgreementState,
    AgreementWorkflowInput,
    EarlyRenewal,
    TerminationRequest,
)
from models.contract import (
    AGREEMENT_WORKFLOW,
    TASK_QUEUE,
    QueryName,
    UpdateName,
    agreement_workflow_id,
)
from models.partner import ProviderAction
from models.search_attributes import PROVIDER_ID, RESELLER_TEAM_ID
from models.summaries import agreement_static_details, agreement_summary


class AgreementRequestRejected(RequestRejected):
    """The agreement workflow refused a request (or the terms); the message says why."""


class AgreementNotFound(WorkflowNotFound):
    """No agreement of this provider has this ID."""


_UPDATES: dict[type[ProviderAction], UpdateName] = {
    AgreementAmendment: UpdateName.AMEND,
    TerminationRequest: UpdateName.TERMINATE,
    EarlyRenewal: UpdateName.RENEW_EARLY,
}


class Agreements:
    """Create and steer the exclusive agreements of any provider."""

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    def handle(
        self, provider_id: str, agreement_id: str
    ) -> WorkflowHandle[Any, AgreementState | None]:
        return self.client.get_workflow_handle(
            agreement_workflow_id(provider_id, agreement_id),
            result_type=AgreementState | None,  # type: ignore[arg-type]
        )

    async def create(
        self, provider_id: str, agreement_id: str, request: AgreementRequest
    ) -> AgreementState:
        """Grant the exclusive through update-with-start; asking twice makes one agreement."""
        team_id = request.terms.reseller_team_id
        try:
            state: AgreementState = await self.client.execute_update_with_start_workflow(
                UpdateName.CREATE,
                request,
                start_workflow_operation=WithStartWorkflowOperation(
                    AGREEMENT_WORKFLOW,
                    AgreementWorkflowInput(provider_id=provider_id, agreement_id=agreement_id),
                    result_type=AgreementState | None,  # type: ignore[arg-type]
                    id=agreement_workflow_id(provider_id, agreement_id),
                    task_queue=self.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(PROVIDER_ID, provider_id),
                            SearchAttributePair(RESELLER_TEAM_ID, team_id),
                        ]
                    ),
                    static_summary=agreement_summary(provider_id, agreement_id, request.terms),
                    static_details=agreement_static_details(
                        provider_id, agreement_id, request.terms
                    ),
                ),
                id=f"create/{request.request_id}" if request.request_id else None,
                result_type=AgreementState,
            )
        except WorkflowUpdateFailedError as error:
            raise AgreementRequestRejected(rejection_message(error)) from error
        return state

    async def apply(
        self, provider_id: str, agreement_id: str, request: ProviderAction
    ) -> AgreementState:
        """Amend, terminate or renew early; returns the agreement as it stands after."""
        update = _UPDATES.get(type(request))
        if update is None:
            raise TypeError(f"no agreement update takes a {type(request).__name__}")
        update_id = f"{update.value}/{request.request_id}" if request.request_id else None
        try:
            state: AgreementState = await self._call(
                provider_id,
                agreement_id,
                lambda h: h.execute_update(
                    update, request, id=update_id, result_type=AgreementState
                ),
            )
        except AgreementNotFound:
            # A closed workflow takes no updates: say that it ended, not that it never was.
            ended = await self.state(provider_id, agreement_id)
            raise AgreementRequestRejected(
                f"agreement {agreement_id} has {ended.status.value}: {ended.end_reason}"
            ) from None
        return state

    async def state(self, provider_id: str, agreement_id: str) -> AgreementState:
        state: AgreementState | None = await self._call(
            provider_id,
            agreement_id,
            lambda h: h.query(QueryName.GET_STATE, result_type=AgreementState | None),
        )
        if state is None:
            raise self._not_found(provider_id, agreement_id)
        return state

    async def wait_for(
        self,
        provider_id: str,
        agreement_id: str,
        condition: Callable[[AgreementState], bool],
        *,
        timeout: float,
    ) -> AgreementState:
        return await poll_until(
            lambda: self.state(provider_id, agreement_id),
            condition,
            timeout=timeout,
            describe=lambda s: f"agreement {agreement_id} is still {s.status.value}",
        )

    @staticmethod
    def _not_found(provider_id: str, agreement_id: str) -> AgreementNotFound:
        return AgreementNotFound(f"provider {provider_id} has no agreement {agreement_id!r}")

    async def _call(self, provider_id: str, agreement_id: str, call: Any) -> Any:
        return await call_workflow(
            self.handle(provider_id, agreement_id),
            call,
            rejected=AgreementRequestRejected,
            not_found=lambda: self._not_found(provider_id, agreement_id),
        )
