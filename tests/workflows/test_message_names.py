"""Every signal, update and query a workflow takes is named once, in models/contract.py."""

from __future__ import annotations

from temporalio import workflow

from models.contract import QueryName, SignalName, UpdateName
from workers.wiring import WORKFLOWS


def test_each_message_a_workflow_takes_is_named_in_the_contract():
    signals: set[str] = set()
    updates: set[str] = set()
    queries: set[str] = set()
    for workflow_class in WORKFLOWS:
        definition = workflow._Definition.must_from_class(workflow_class)
        signals |= {name for name in definition.signals if name}
        updates |= {name for name in definition.updates if name}
        queries |= {name for name in definition.queries if name}
    assert signals == set(SignalName)
    assert updates == set(UpdateName)
    assert queries == set(QueryName)
