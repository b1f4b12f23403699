"""Recorded histories replay under the current workflow code; a changed workflow does not.

The histories under tests/histories/ were recorded from the lifecycle, agreement and review
scenarios (PARTNERFLOW_RECORD_HISTORIES=tests/histories make test). Every change to the
workflow code must keep them replaying, through workflow.patched where needed.
Each scenario test also replays its own fresh histories (see tests/conftest.py).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from models.agreement import AgreementState, AgreementWorkflowInput
from models.contract import (
    AGREEMENT_WORKFLOW,
    ANNOUNCEMENT_WORKFLOW,
    MESSAGE_DELIVERY_WORKFLOW,
    NEWSLETTER_WORKFLOW,
    OFFER_LAUNCH_WORKFLOW,
    PARTNER_WORKFLOW,
    PROGRAM_CHANGE_WORKFLOW,
    REVIEW_WORKFLOW,
)
from models.partner import PartnerState, PartnerWorkflowInput

# The workflows below make the sandbox import this module again: the worker's wiring (and the
# HTTP client its activities use) is not for the sandbox.
with workflow.unsafe.imports_passed_through():
    from workers.wiring import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    """The history saved at `path`, under the workflow ID it was recorded with where it says
    one (a child's ID derived from it must match), else under the file's name."""
    saved = json.loads(path.read_text())
    return WorkflowHistory.from_json(saved.pop("workflowId", path.stem), saved)


def test_recorded_histories_are_present():
    workflow_types = {
        json.loads(path.read_text())["events"][0]["workflowExecutionStartedEventAttributes"][
            "workflowType"
        ]["name"]
        for path in HISTORIES
    }
    assert workflow_types == {
        PARTNER_WORKFLOW,
        AGREEMENT_WORKFLOW,
        REVIEW_WORKFLOW,
        MESSAGE_DELIVERY_WORKFLOW,
        PROGRAM_CHANGE_WORKFLOW,
        OFFER_LAUNCH_WORKFLOW,
        ANNOUNCEMENT_WORKFLOW,
        NEWSLETTER_WORKFLOW,
    }
    assert len(HISTORIES) >= 15, "tests/histories lost recorded histories"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path):
    events = json.loads(path.read_text())["events"]
    assert len(events) > 10
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=pydantic_data_converter)
    await replayer.replay_workflow(load(path))


@workflow.defn(name=PARTNER_WORKFLOW)
class ReorderedLifecycle:
    """The lifecycle with a timer inserted before everything else: not replay-compatible."""

    @workflow.run
    async def run(self, input: PartnerWorkflowInput) -> PartnerState:
        await workflow.sleep(timedelta(seconds=1))
        raise AssertionError("unreachable in replay")


async def test_an_incompatible_change_fails_replay():
    path = next(p for p in HISTORIES if p.stem == "grace-expiry-removal")
    replayer = Replayer(workflows=[ReorderedLifecycle], data_converter=pydantic_data_converter)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(path))


@workflow.defn(name=AGREEMENT_WORKFLOW)
class ReorderedAgreement:
    """The agreement workflow with a different first step: not replay-compatible either."""

    @workflow.run
    async def run(self, input: AgreementWorkflowInput) -> AgreementState | None:
        await workflow.sleep(timedelta(days=1))
        raise AssertionError("unreachable in replay")


async def test_an_incompatible_agreement_change_fails_replay():
    path = next(p for p in HISTORIES if p.stem == "agreement-full-term-expiry")
    replayer = Replayer(workflows=[ReorderedAgreement], data_converter=pydantic_data_converter)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(path))
