"""A worker process killed after the partner's webhook got the message and before the outbox
recorded it as sent: the next worker's retry carries the same Idempotency-Key, and the
receiver keeps one message."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from clients.partners import PartnerPrograms
from devstack.demo_data import GOOD
from models.database import Database
from models.delivery import ChannelKind, DeliveryChange, PartnerContact
from models.partner import EnrollmentRequest
from models.program import ProgramSettings
from services.delivery import change_delivery, set_partner_contact
from tests.helpers import Program
from tests.receivers import WebhookRequest, webhook_receiver
from tests.workers.dev_temporal import WorkerServer, dev_server_for_workers
from tests.workers.processes import Command

SECRET = "whsec_crash-test-signing-secret"
HELD_FOR = 60.0

pytestmark = pytest.mark.usefixtures("local_webhooks")  # receivers on loopback, over http


async def test_a_worker_killed_between_send_and_record_sends_no_duplicate(
    db, tmp_path, dev_server_config
):
    # The dev server: the time-skipping one never times out the killed worker's try.
    async with dev_server_for_workers(dev_server_config, db) as server:
        await _kill_mid_delivery(server, db, tmp_path)


async def _kill_mid_delivery(server: WorkerServer, db: Database, tmp_path: Path) -> None:
    program = Program(db, None, ProgramSettings()).create()
    team = await program.add_reseller("team-crash", GOOD)
    arrived, released = threading.Event(), threading.Event()

    def answer(request: WebhookRequest, earlier: int) -> int:
        if earlier == 0:  # the first try: it is in, and its worker dies before the answer
            arrived.set()
            released.wait(HELD_FOR)
        return 200

    client, task_queue, environment = server.client, server.task_queue, server.environment
    with webhook_receiver(SECRET, answer=answer) as receiver:
        with db.transaction() as session:
            change_delivery(
                session,
                program.provider_id,
                DeliveryChange(channel=ChannelKind.WEBHOOK, webhook_secret=SecretStr(SECRET)),
            )
            set_partner_contact(
                session, program.provider_id, team, PartnerContact(webhook_url=receiver.url())
            )
        first = Command(["worker"], cwd=tmp_path, env=environment)
        first.wait_for("worker polling task queue", timeout=30)
        await PartnerPrograms(client, task_queue).enroll(
            program.provider_id, team, EnrollmentRequest()
        )
        assert await asyncio.to_thread(arrived.wait, 30), "the welcome never reached the webhook"
        first.stop(signal.SIGKILL)
        released.set()
        [sending] = program.notifications(team, "welcome")
        assert (sending.status, sending.attempts) == ("sending", 1)

        second = Command(["worker"], cwd=tmp_path, env=environment)
        try:
            second.wait_for("worker polling task queue", timeout=30)
            # After the killed try's heartbeat timeout (10 s), the retry goes out.
            [sent] = await program.sent(team, "welcome", timeout=120)
        finally:
            second.stop()
    key = sent.idempotency_key
    assert receiver.keys() == [key, key], "the retry carried the same Idempotency-Key"
    assert list(receiver.messages) == [key], "the receiver kept one message"
    assert receiver.unsigned == []
    assert (sent.status, sent.attempts) == ("sent", 2)
