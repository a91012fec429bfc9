"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` in a temp folder, a free
loopback port, stopped (and its folder removed) at the end.

    with PgServer.start() as pg:            # raises PgMissing where PostgreSQL is not installed
        url = pg.create_db("t1")            # postgresql://postgres@127.0.0.1:PORT/t1
        pg.restart()                        # a fault: every connection is cut

As root, the server runs as the ``postgres`` user (PostgreSQL refuses to run as root); the
folder comes from ``tempfile.mkdtemp`` with mode 0o777 because pytest's own temp folder is
root-only.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType


class PgMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine (``scripts/setup.sh test`` installs them)."""


def pg_bin() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` that has ``initdb`` (``PG_BIN`` overrides)."""
    if os.environ.get("PG_BIN"):
        if not (Path(os.environ["PG_BIN"]) / "initdb").exists():
            raise PgMissing(f"PG_BIN={os.environ['PG_BIN']} has no initdb")
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise PgMissing("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/setup.sh test")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, bin_dir: Path, folder: Path, port: int) -> None:
        self.bin = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @classmethod
    def start(cls) -> PgServer:
        bin_dir = pg_bin()
        folder = Path(tempfile.mkdtemp(prefix="pyauth-pg-"))
        folder.chmod(0o777)
        server = cls(bin_dir, folder, free_port())
        try:
            server._run(str(bin_dir / "initdb"), "-D", str(server.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
            server._pg_ctl_start()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return server

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self._as_postgres, *cmd], check=True, capture_output=True, cwd=self.folder)

    def _pg_ctl_start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
        )

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        """A new, empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            # FILE_COPY (PostgreSQL 15 on): a copy of the template's files, without writing them
            # all to the WAL as well; 20 ms instead of 90 (fsync is off: its checkpoint is cheap).
            strategy = " STRATEGY = FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}"{strategy}'.encode())
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def start_again(self) -> None:
        """Start a stopped server, on the same port."""
        self._pg_ctl_start()

    def restart(self) -> None:
        """Stop (cutting every connection) and start again on the same port."""
        self.stop()
        self._pg_ctl_start()

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
