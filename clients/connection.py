"""Connecting to Temporal with the pydantic data converter, so payloads are readable JSON."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from models.contract import DATETIME_ATTRIBUTES, KEYWORD_ATTRIBUTES
from runtime.settings import Settings


async def connect(
    address: str, namespace: str = "default", runtime: Runtime | None = None
) -> Client:
    """A client; `runtime` (see runtime/telemetry.py) brings metrics and core log forwarding."""
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime
    )


async def register_search_attributes(client: Client) -> list[str]:
    """Add the custom search attributes the namespace lacks; returns the names it added."""
    wanted = {
        name.value: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in KEYWORD_ATTRIBUTES
    }
    wanted |= {
        name.value: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME for name in DATETIME_ATTRIBUTES
    }
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        missing = {k: v for k, v in wanted.items() if k not in existing.custom_attributes}
    except RPCError as error:
        if error.status is not RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server
            raise
        missing = wanted
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
            )
        except RPCError as error:
            if error.status is not RPCStatusCode.ALREADY_EXISTS:
                raise
    return sorted(missing)


class TemporalUnreachable(Exception):
    """No Temporal server answers at the configured address."""


async def connect_temporal(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client for the configured namespace, or TemporalUnreachable saying what to do."""
    try:
        return await connect(settings.temporal_address, settings.temporal_namespace, runtime)
    except RuntimeError as error:
        raise TemporalUnreachable(
            f"Temporal does not answer at {settings.temporal_address} "
            f"(namespace {settings.temporal_namespace}): {error}\n"
            "Start the local stack with `make run`, or point TEMPORAL_ADDRESS "
            "(and TEMPORAL_NAMESPACE) at your Temporal cluster."
        ) from error
