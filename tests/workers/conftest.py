"""One Temporal dev server for the tests that need what only it has (Schedules, visibility,
the UI, real activity timeouts): each test keeps to a task queue and providers of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from devstack.dev_server import DevConfig, await_dev_server, spawn_dev_server, stop_dev_server
from tests.workers.processes import free_port


@pytest.fixture(scope="session")
def dev_server_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevConfig]:
    """The shared dev server's address, ports and state directory; started on first use."""
    config = DevConfig(
        port=free_port(), ui_port=free_port(), state_dir=tmp_path_factory.mktemp("temporal")
    )
    process = spawn_dev_server(config)
    try:
        asyncio.run(await_dev_server(config, process))
        yield config
    finally:
        stop_dev_server(process)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on the dev server are marked `dev_server`: `-m "not dev_server"` leaves the
    ones whose clocks faketime moves (make test-calendar)."""
    for item in items:
        if "dev_server_config" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dev_server)
