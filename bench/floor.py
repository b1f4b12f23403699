"""The raw Temporal floor: a trivial entity workflow whose only work is an update.

Nothing from partnerflow is imported here, so what it costs is Temporal's own
update-with-start (server, SDK, data converter) on this machine: the floor
that partnerflow's enrollment is read against.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

FLOOR_TASK_QUEUE = "bench-floor"
FLOOR_WORKFLOW = "BenchFloorEntity"
NOOP_TIMEOUT = timedelta(seconds=30)


class FloorInput(BaseModel):
    key: str


class Touch(BaseModel):
    request: str
    activities: int = 0
    """No-op activities the update runs before it answers: 5 give an enrollment's shape."""
    local_activities: int = 0
    """No-op local activities it runs after those: they run in the worker's workflow task."""


class Touched(BaseModel):
    key: str
    touches: int


@workflow.defn(name=FLOOR_WORKFLOW)
class FloorEntity:
    """An entity that only counts the updates it receives, and never ends on its own."""

    @workflow.init
    def __init__(self, input: FloorInput) -> None:
        self._key = input.key
        self._touches = 0

    @workflow.run
    async def run(self, input: FloorInput) -> Touched:
        await workflow.wait_condition(lambda: False)
        return Touched(key=self._key, touches=self._touches)  # pragma: no cover

    @workflow.signal(name="poke")
    def poke(self, request: Touch) -> None:
        self._touches += 1

    @workflow.update(name="touch")
    async def touch(self, request: Touch) -> Touched:
        for _ in range(request.activities):
            await workflow.execute_activity(noop, request, start_to_close_timeout=NOOP_TIMEOUT)
        for _ in range(request.local_activities):
            await workflow.execute_local_activity(
                noop, request, start_to_close_timeout=NOOP_TIMEOUT
            )
        self._touches += 1
        return Touched(key=self._key, touches=self._touches)


@activity.defn(name="bench_noop")
def noop(request: Touch) -> Touched:
    """Nothing, in the worker's activity threads as partnerflow's activities run."""
    return Touched(key=request.request, touches=0)


def floor_workflow_id(key: str) -> str:
    return f"bench-floor/{key}"


async def touch_with_start(
    client: Client,
    key: str,
    task_queue: str = FLOOR_TASK_QUEUE,
    *,
    activities: int = 0,
    local_activities: int = 0,
) -> Touched:
    """Update-with-start, as partnerflow enrolls: starts the entity if it does not run yet."""
    # An async update's type does not fit execute_update's stubs (partner_client does the same).
    return await client.execute_update_with_start_workflow(
        FloorEntity.touch,  # type: ignore[arg-type]
        Touch(request=key, activities=activities, local_activities=local_activities),
        start_workflow_operation=WithStartWorkflowOperation(
            FloorEntity.run,
            FloorInput(key=key),
            id=floor_workflow_id(key),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        ),
    )


async def poke_with_start(client: Client, key: str, task_queue: str = FLOOR_TASK_QUEUE) -> None:
    """Signal-with-start of a new entity, as a review nominates a new candidate."""
    await client.start_workflow(
        FloorEntity.run,
        FloorInput(key=key),
        id=floor_workflow_id(key),
        task_queue=task_queue,
        start_signal="poke",
        start_signal_args=[Touch(request=key)],
    )


async def touch(client: Client, key: str) -> Touched:
    """A plain update of an entity that runs already."""
    handle = client.get_workflow_handle_for(FloorEntity.run, floor_workflow_id(key))
    return await handle.execute_update(
        FloorEntity.touch,  # type: ignore[arg-type]
        Touch(request=key),
    )
