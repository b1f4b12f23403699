"""The JSON log format: what a line says about the workflow and the partner it concerns."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from runtime.logs import JsonFormatter, workflow_subject


@pytest.mark.parametrize(
    ("workflow_id", "fields"),
    [
        ("partner/acme/team-a", {"provider_id": "acme", "reseller_team_id": "team-a"}),
        ("agreement/acme/seattle", {"provider_id": "acme", "agreement_id": "seattle"}),
        (
            "review/acme/quarterly/2026-Q3",
            {"provider_id": "acme", "review_cadence": "quarterly", "review_period": "2026-Q3"},
        ),
        ("review-schedule/acme/monthly-2026-11-01T02:00:00Z", {}),
        ("partner/acme", {}),
        ("something-else", {}),
    ],
)
def test_a_workflow_id_names_its_provider_and_subject(workflow_id, fields):
    assert workflow_subject(workflow_id) == fields


def _record(**extra) -> logging.LogRecord:
    record = logging.LogRecord(
        "partnerflow.x", logging.WARNING, __file__, 1, "%s late", ("n",), None
    )
    record.__dict__.update(extra)
    return record


def test_a_workflow_logger_line_carries_the_workflow_and_partner():
    line = json.loads(
        JsonFormatter().format(
            _record(
                temporal_workflow={
                    "attempt": 1,
                    "namespace": "default",
                    "run_id": "r-1",
                    "task_queue": "partner-program",
                    "workflow_id": "partner/acme/team-a",
                    "workflow_type": "PartnerLifecycleWorkflow",
                },
                request_id="abc",
            )
        )
    )
    assert line["message"] == "n late" and line["level"] == "WARNING"
    assert line["workflow_id"] == "partner/acme/team-a" and line["run_id"] == "r-1"
    assert line["provider_id"] == "acme" and line["reseller_team_id"] == "team-a"
    assert line["request_id"] == "abc"  # an `extra=` field is kept
    assert "temporal_workflow" not in line


def test_an_exception_is_one_field_of_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record()
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]
