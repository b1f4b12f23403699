"""The Temporal SDK runtime of a worker or API process: its Prometheus endpoint and its core logs.

With PARTNERFLOW_METRICS_ADDRESS set (say `0.0.0.0:9464`) the process serves
`/metrics` there: the SDK's own metrics (`temporal_workflow_completed`,
`temporal_activity_execution_latency`, task slots, poll and request counters,
...) and partnerflow's counters from `activities/counters.py`. Unset, nothing
listens: several workers on one host would otherwise fight over one port.
"""

from __future__ import annotations

import logging

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from runtime.logs import CORE_LOGGER, LogFormat
from runtime.settings import Settings


class MetricsUnavailable(Exception):
    """The metrics endpoint cannot listen where PARTNERFLOW_METRICS_ADDRESS says."""


def _core_logging(log_format: LogFormat) -> LoggingConfig:
    """The SDK core's warnings: in JSON they go through Python's logging, so every line is JSON."""
    if log_format is LogFormat.TEXT:
        return LoggingConfig.default
    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
    )


def build_runtime(settings: Settings) -> Runtime | None:
    """A runtime with the metrics endpoint and core log forwarding that `settings` ask for,
    or None when the SDK's default runtime does."""
    address = settings.metrics_address
    if not address and settings.log_format is LogFormat.TEXT:
        return None
    try:
        return Runtime(
            telemetry=TelemetryConfig(
                logging=_core_logging(settings.log_format),
                metrics=PrometheusConfig(bind_address=address) if address else None,
            )
        )
    except ValueError as error:
        raise MetricsUnavailable(
            f"cannot serve metrics on {address} ({error}): set PARTNERFLOW_METRICS_ADDRESS to a "
            "free host:port, such as 0.0.0.0:9464, or unset it to serve none"
        ) from None
