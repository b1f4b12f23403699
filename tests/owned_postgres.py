"""A PostgreSQL server of the test's own, which it may stop and start: Debian's server binaries
(initdb, pg_ctl) run as the `postgres` user on a free port and a data directory in /tmp."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parts[-2])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class OwnedPostgres:
    bin: Path
    home: Path
    port: int
    as_postgres: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.home / "data"), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.home / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


@contextmanager
def owned_postgres() -> Iterator[OwnedPostgres]:
    if not SERVER_BINARIES:
        pytest.skip("needs Debian's PostgreSQL server binaries (apt-get install postgresql)")
    home = Path(tempfile.mkdtemp(prefix="partnerflow-pg-", dir="/tmp"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as its own user
        user = pwd.getpwnam("postgres")
        os.chown(home, user.pw_uid, user.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    server = OwnedPostgres(SERVER_BINARIES[-1], home, _free_port(), as_postgres)
    subprocess.run(
        [*as_postgres, str(server.bin / "initdb"), "-D", str(home / "data"), "-U", "postgres"]
        + ["--auth=trust", "--no-sync", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            [*as_postgres, str(server.bin / "pg_ctl"), "-D", str(home / "data"), "-m", "immediate"]
            + ["stop"],
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)
