"""`partnerflow dev` end to end: the dev server, its UI's JSON API, the demo, a clean stop."""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
import sqlite3
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from devstack.demo import (
    DEMO_AGREEMENTS,
    DEMO_ISSUE_PARTNER,
    DEMO_PROVIDER_ID,
    DEMO_REVIEW_CADENCE,
)
from devstack.dev_server import DevConfig, dev_server_command
from devstack.stack import dev_metrics
from models.contract import AGREEMENT_WORKFLOW, PARTNER_WORKFLOW
from models.review import ReviewPeriod, review_id
from runtime.settings import Settings
from runtime.telemetry import MetricsUnavailable
from store.offer_access import ON_PREFERRED_LIST
from tests.workers.processes import DEV_READY, Command, dev_stack, free_port, port_open

pytestmark = pytest.mark.dev_server  # partnerflow dev starts a dev server of its own

READY = DEV_READY
START_TIMEOUT = 60


def _decode(payload: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(payload["data"]))


def _ui_partners(ui_port: int, workflow_type: str = PARTNER_WORKFLOW) -> list[dict[str, Any]]:
    """Search attributes of acme's workflows of a type, as the Temporal UI's JSON API lists them."""
    query = quote(f'ProviderId="{DEMO_PROVIDER_ID}" AND WorkflowType="{workflow_type}"', safe="")
    url = f"http://127.0.0.1:{ui_port}/api/v1/namespaces/default/workflows?query={query}"
    with urllib.request.urlopen(url, timeout=10) as response:
        executions = json.load(response).get("executions", [])
    return [
        {k: _decode(v) for k, v in e["searchAttributes"]["indexedFields"].items()}
        for e in executions
    ]


def _listed(state_dir: Path) -> Counter[tuple[str, str]]:
    """(status, tier) of each partner on the preferred list, as the activities wrote it."""
    with sqlite3.connect(state_dir / "partnerflow.db") as db:
        return Counter(db.execute("SELECT status, tier FROM preferred_list").fetchall())


def _summary_shows(output: str, listed: Counter[tuple[str, str]]) -> bool:
    """Whether the printed summary counts the partners as the program database lists them."""
    return all(
        re.search(rf"{status} · {tier}\W+{count}\b", output)
        for (status, tier), count in listed.items()
    )


def _await_ui(ui_port: int, expected: Counter[tuple[str, str]]) -> list[dict[str, Any]]:
    """The UI's partners once they match `expected`: visibility trails the workflows a little."""
    deadline = time.monotonic() + 15
    while True:
        try:
            partners = _ui_partners(ui_port)
        except urllib.error.HTTPError as error:
            if time.monotonic() > deadline:
                raise
            print(f"the UI answered {error.code}, asking again")
            time.sleep(0.2)
            continue
        seen = Counter((p["PartnerStatus"], p["PartnerTier"]) for p in partners)
        if seen == expected or time.monotonic() > deadline:
            assert seen == expected
            return partners
        time.sleep(0.2)


def _welcomes(state_dir: Path) -> int:
    with sqlite3.connect(state_dir / "partnerflow.db") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM notifications WHERE kind = 'welcome'"
        ).fetchone()
    return int(count)


def _reviews_and_notices(state_dir: Path) -> tuple[list[tuple[str, bool]], list[str]]:
    """The demo's program reviews (ID, completed) and the friendly notices in the outbox."""
    with sqlite3.connect(state_dir / "partnerflow.db") as db:
        reviews = db.execute("SELECT id, completed_at IS NOT NULL FROM program_reviews").fetchall()
        notices = db.execute(
            "SELECT reseller_team_id FROM notifications WHERE kind = 'friendly_notice'"
        ).fetchall()
    return [(rid, bool(done)) for rid, done in reviews], [team for (team,) in notices]


def _await_notice(state_dir: Path) -> tuple[list[tuple[str, bool]], list[str]]:
    """The notice is recorded by the update that answered; wait a little all the same."""
    deadline = time.monotonic() + 15
    while not (found := _reviews_and_notices(state_dir))[1] and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _await_welcomes(state_dir: Path, expected: int) -> int:
    """Welcomes leave after each enrollment answered, so they may trail the summary a little."""
    deadline = time.monotonic() + 15
    while (count := _welcomes(state_dir)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert count == expected
    return count


@pytest.fixture
def ports() -> tuple[int, int]:
    return free_port(), free_port()


def _dev(
    tmp_path: Path,
    ports: tuple[int, int],
    api_port: int | None = None,
    metrics_port: int | None = None,
) -> Command:
    port, ui_port = ports
    return dev_stack(tmp_path, port, ui_port, api_port or free_port(), metrics_port)


def _samples(exposition: str, name: str) -> dict[str, float]:
    """The samples of one metric: its label set as written, and the value."""
    found = re.findall(rf"^{name}(\{{[^}}]*\}})? (\S+)$", exposition, flags=re.MULTILINE)
    return {labels: float(value) for labels, value in found}


def _scrape_until(url: str, wanted: list[str]) -> str:
    """The exposition once each `wanted` metric has a sample: counters appear on first use."""
    deadline = time.monotonic() + 15
    while True:
        with urllib.request.urlopen(url, timeout=10) as response:
            exposition = str(response.read().decode())
        missing = [name for name in wanted if not _samples(exposition, name)]
        if not missing:
            return exposition
        if time.monotonic() > deadline:
            raise AssertionError(f"no {missing} at {url}:\n{exposition}")
        time.sleep(0.2)


def _api_get(api_port: int, path: str, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{api_port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _api_partners(api_port: int, key: str) -> dict[str, Any]:
    listed: dict[str, Any] = _api_get(
        api_port, "/provider/partners?pageSize=500", {"x-api-key": key}
    )
    return listed


def test_dev_stack_lists_partners_in_the_ui_and_resumes_after_a_restart(tmp_path, ports):
    port, ui_port = ports
    state_dir = tmp_path / ".partnerflow"
    api_port = free_port()
    metrics_port = free_port()
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    started = datetime.now(UTC)
    dev = _dev(tmp_path, ports, api_port, metrics_port)
    try:
        dev.wait_for(READY, START_TIMEOUT)
        assert f"Prometheus metrics {metrics_url}" in dev.output
        exposition = _scrape_until(
            metrics_url,
            ["temporal_workflow_task_execution_latency_count", "partnerflow_partner_transitions"],
        )
        statuses = _listed(state_dir)
        assert _summary_shows(dev.output, statuses), dev.output
        partners = _await_ui(ui_port, statuses)
        exclusives = _ui_partners(ui_port, AGREEMENT_WORKFLOW)
        key = (state_dir / "demo-api-key").read_text().strip()
        assert key in dev.output
        assert _api_partners(api_port, key)["total"] == sum(statuses.values())
        reseller_key = (state_dir / "demo-reseller-key").read_text().strip()
        assert "/portal  (sign in as " in dev.output and reseller_key in dev.output
        standing = _api_get(
            api_port, f"/reseller/programs/{DEMO_PROVIDER_ID}", {"x-reseller-key": reseller_key}
        )
        assert standing["status"] == "at_risk" and standing["toFix"], standing
        # The demo turned its newsletter on (a Schedule on the dev server) and sent last month's.
        newsletter = _api_get(api_port, "/provider/newsletter", {"x-api-key": key})
        assert newsletter["enabled"] and newsletter["nextSendAt"], newsletter
        assert newsletter["months"][0]["status"] == "sent", newsletter
        assert newsletter["months"][0]["recipients"] == sum(
            count for (status, _), count in statuses.items() if status in ON_PREFERRED_LIST
        )
        welcomes = _await_welcomes(state_dir, sum(statuses.values()))
        reviews, notices = _await_notice(state_dir)
    finally:
        code = dev.stop(signal.SIGTERM)
    stopped = datetime.now(UTC)
    assert code == 0, dev.output
    assert "partnerflow dev stopped" in dev.output
    assert not port_open(port), "the dev server outlived partnerflow dev"

    assert statuses[("preferred", "gold")] > 0
    assert statuses[("preferred", "silver")] > 0
    assert statuses[("at_risk", "silver")] > 0
    assert all(p["ProviderId"] == DEMO_PROVIDER_ID for p in partners)
    assert all(p["ResellerTeamId"].startswith("team-") for p in partners)
    assert all(("GraceDeadline" in p) == (p["PartnerStatus"] == "at_risk") for p in partners)
    assert sorted(e["ResellerTeamId"] for e in exclusives) == sorted(
        terms.reseller_team_id for terms in DEMO_AGREEMENTS.values()
    )
    assert {e["AgreementStatus"] for e in exclusives} == {"active"}
    # The demo ran the review of the month just ended and reported one partner's issue. Which
    # month that is was decided while the stack started: a start across the turn of a month
    # may review either.
    periods = {ReviewPeriod.last_ended(DEMO_REVIEW_CADENCE, t) for t in (started, stopped)}
    assert reviews in [[(review_id(DEMO_PROVIDER_ID, period), True)] for period in periods]
    assert notices == [DEMO_ISSUE_PARTNER]
    assert "the last review" in dev.output and quote(reviews[0][0], safe="") in dev.output
    assert f"({DEMO_ISSUE_PARTNER}: friendly notice)" in dev.output
    assert _samples(exposition, "temporal_worker_task_slots_available")
    transitions = _samples(exposition, "partnerflow_partner_transitions")
    assert any('to_status="at_risk"' in labels for labels in transitions), transitions

    again = _dev(tmp_path, ports, api_port)
    try:
        again.wait_for(READY, START_TIMEOUT)
        assert "already loaded" in again.output
        assert _api_partners(api_port, key)["total"] == sum(statuses.values())
        assert _listed(state_dir) == statuses
        assert _summary_shows(again.output, statuses), again.output
        _await_ui(ui_port, statuses)
    finally:
        assert again.stop(signal.SIGINT) == 0, again.output
    assert _welcomes(state_dir) == welcomes
    assert _reviews_and_notices(state_dir) == (reviews, notices)
    assert f"({DEMO_ISSUE_PARTNER}: friendly notice)" in again.output


def test_dev_refuses_a_port_taken_by_something_else(tmp_path, ports):
    port, _ = ports
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        dev = _dev(tmp_path, ports)
        code = dev.process.wait(START_TIMEOUT)
        dev.stop()
    assert code == 1
    assert f"port {port}" in dev.output and "taken" in dev.output


def test_dev_shows_the_server_log_when_the_server_dies(tmp_path, ports):
    # A directory where the SQLite file should be: the dev server cannot open its database.
    (tmp_path / ".partnerflow" / "temporal.db").mkdir(parents=True)
    dev = _dev(tmp_path, ports)
    code = dev.process.wait(START_TIMEOUT)
    dev.stop()
    assert code == 1
    assert "exited with code" in dev.output
    assert "temporal.log" in dev.output


def test_dev_stops_cleanly_while_starting(tmp_path, ports):
    dev = _dev(tmp_path, ports)
    dev.wait_for("Loaded demo provider", START_TIMEOUT)
    started = time.monotonic()
    assert dev.stop(signal.SIGTERM) == 0, dev.output
    assert time.monotonic() - started < 30
    assert not port_open(ports[0])


def test_a_second_dev_reuses_the_running_server_and_leaves_it_running(tmp_path, ports):
    port, _ = ports
    first = _dev(tmp_path, ports)
    try:
        first.wait_for(READY, START_TIMEOUT)
        second = _dev(tmp_path, ports)
        try:
            second.wait_for(READY, START_TIMEOUT)
            assert "reusing the server that was already running" in second.output
        finally:
            assert second.stop(signal.SIGTERM) == 0, second.output
        assert port_open(port), "the second dev stopped a server it did not start"
    finally:
        assert first.stop(signal.SIGTERM) == 0, first.output
    assert not port_open(port)


def test_dev_metrics_go_elsewhere_only_when_asked():
    """The default port taken leaves the stack without metrics; a chosen one taken is refused."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = f"127.0.0.1:{squatter.getsockname()[1]}"
        fallback = dev_metrics(Settings(PARTNERFLOW_METRICS_ADDRESS=""), default=taken)
        assert fallback.url is None and fallback.runtime is None
        assert fallback.unavailable and taken in fallback.unavailable
        with pytest.raises(MetricsUnavailable, match="PARTNERFLOW_METRICS_ADDRESS"):
            dev_metrics(Settings(PARTNERFLOW_METRICS_ADDRESS=taken), default=taken)
    port = free_port()
    chosen = dev_metrics(Settings(PARTNERFLOW_METRICS_ADDRESS=f"0.0.0.0:{port}"))
    assert chosen.runtime is not None
    assert chosen.url == f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(chosen.url, timeout=10) as response:
        assert response.status == 200


def test_the_dev_server_caches_search_attributes_as_a_production_server_does(tmp_path):
    """Left to itself the dev server reads them from its store on every use (about 30 reads
    per enrollment, bench/README.md); the partner listing by them is checked across a restart
    in test_dev_stack_lists_partners_in_the_ui_and_resumes_after_a_restart."""
    command = dev_server_command("temporal", DevConfig(state_dir=tmp_path))
    value = command.index("system.forceSearchAttributesCacheRefreshOnRead=false")
    assert command[value - 1] == "--dynamic-config-value"
