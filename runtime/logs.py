"""How partnerflow's processes log: readable lines, or JSON lines for a log pipeline.

A JSON line carries what the line is about, wherever it was logged from: the
workflow (ID, run, type), the activity (type, ID, attempt) when it comes from
one, and the provider and the partner, agreement or review period that the
workflow ID names. PARTNERFLOW_LOG_FORMAT chooses: `text` (the default, and
`make run`'s) or `json` (the compose file's).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
TEXT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
CORE_LOGGER = "temporalio.core"
"""Where the SDK's Rust core sends its own log lines when they are forwarded to Python."""

# What every LogRecord has; anything else on a record came as `extra=`.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
# Extras the formatter reads itself, or that only make sense on a terminal.
_CONSUMED_EXTRAS = {
    "temporal_activity",
    "temporal_workflow",
    "temporal_log",
    "activity_info",
    "workflow_info",
    "color_message",
}
_FROM_TEMPORAL = {
    "workflow_id": "workflow_id",
    "run_id": "run_id",
    "workflow_run_id": "run_id",
    "workflow_type": "workflow_type",
    "activity_type": "activity_type",
    "activity_id": "activity_id",
    "attempt": "attempt",
    "task_queue": "task_queue",
    "namespace": "namespace",
}
# The third part of each workflow ID of models/contract.py, after the kind and the provider.
_SUBJECT_BY_KIND = {
    "partner": "reseller_team_id",
    "agreement": "agreement_id",
    "review": "review_cadence",
}


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def workflow_subject(workflow_id: str) -> dict[str, str]:
    """The provider and partner (or agreement, or review) a partnerflow workflow ID names.

    `partner/acme/team-a` gives provider_id and reseller_team_id; `agreement/acme/x`
    provider_id and agreement_id; `review/acme/monthly/2026-10` provider_id, review_cadence
    and review_period. Other IDs (a Schedule's run, a test's) give nothing.
    """
    kind, *parts = workflow_id.split("/")
    subject = _SUBJECT_BY_KIND.get(kind)
    if subject is None or len(parts) < 2 or not all(parts):
        return {}
    fields = {"provider_id": parts[0], subject: parts[1]}
    if kind == "review" and len(parts) == 3:
        fields["review_period"] = parts[2]
    return fields


def _temporal_details(record: logging.LogRecord) -> dict[str, Any]:
    """What the SDK's loggers put on the record, or else the activity this thread is running."""
    from temporalio import activity

    details = getattr(record, "temporal_activity", None) or getattr(
        record, "temporal_workflow", None
    )
    if details is None and activity.in_activity():
        info = activity.info()
        details = {
            "activity_id": info.activity_id,
            "activity_type": info.activity_type,
            "attempt": info.attempt,
            "task_queue": info.task_queue,
            "workflow_id": info.workflow_id,
            "workflow_run_id": info.workflow_run_id,
            "workflow_type": info.workflow_type,
        }
    if not isinstance(details, dict):
        return {}
    fields = {_FROM_TEMPORAL[k]: v for k, v in details.items() if k in _FROM_TEMPORAL and v}
    workflow_id = fields.get("workflow_id")
    if isinstance(workflow_id, str):
        fields |= workflow_subject(workflow_id)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the Temporal and partner IDs,
    any `extra=` fields, and the exception if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= _temporal_details(record)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in _CONSUMED_EXTRAS:
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(
    log_format: LogFormat = LogFormat.TEXT,
    level: int | str = logging.INFO,
    log_file: Path | None = None,
) -> None:
    """Log lines on stderr, or into `log_file` with only warnings left on stderr.

    In JSON the SDK's loggers stop appending their details to the message: they are fields.
    """
    from temporalio import activity, workflow

    formatter: logging.Formatter
    if log_format is LogFormat.JSON:
        formatter = JsonFormatter()
    else:
        formatter = logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT)
    activity.logger.activity_info_on_message = log_format is LogFormat.TEXT
    workflow.logger.workflow_info_on_message = log_format is LogFormat.TEXT
    console = logging.StreamHandler()
    console.setFormatter(formatter)
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        console.setLevel(logging.WARNING)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setFormatter(formatter)
        handlers.append(to_file)
    logging.basicConfig(level=level, handlers=handlers, force=True)
    # Alembic says which dialect it found each time a schema is checked: not news.
    logging.getLogger("alembic").setLevel(logging.WARNING)
