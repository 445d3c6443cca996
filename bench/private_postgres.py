"""A throw-away PostgreSQL cluster of the run's own, so a run can really restart it.

The machine's PostgreSQL is shared (other test suites, other sessions): restarting it
would break them. ``PrivatePostgres`` makes a new cluster in a temporary directory with
the server's own ``initdb`` (as the ``postgres`` OS user when run as root: PostgreSQL
refuses to run as root; else as the current user), starts it with ``pg_ctl`` on a loopback
port, and :meth:`restart` does ``pg_ctl restart -m fast``: every connection dropped, the
server down until it is back (optionally for a few seconds). :meth:`destroy` stops it and
removes the directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

#: The OS user the cluster runs as when this process is root.
OS_USER = "postgres"


def server_bin() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``: ``PG_BIN``, else the newest installed
    server (Debian's ``/usr/lib/postgresql/<version>/bin``), else the ``PATH``'s."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("initdb not found: install PostgreSQL's server or set PG_BIN")
    return Path(initdb).parent


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, on ``127.0.0.1:port``, trust auth
    for the ``postgres`` role over loopback."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bin = server_bin()
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="polar-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        if self.as_root:
            shutil.chown(self.dir, OS_USER, OS_USER)
        self.restarts = 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", OS_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)}: {done.stdout}{done.stderr}{tail}")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=on"
        self._run(
            "pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, *extra
        )

    def start(self) -> PrivatePostgres:
        """initdb (trust for ``postgres``, UTF-8) and start; returns self."""
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        self._ctl("start")
        return self

    def url(self, name: str) -> str:
        """A ``postgres://`` URL for database ``name`` on this cluster."""
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def restart(self, down: float = 0.0) -> str:
        """Restart the server: ``pg_ctl restart -m fast`` (sessions terminated, the server
        stopped and started again), or with ``down`` seconds, ``pg_ctl stop -m fast``, that
        long down, ``pg_ctl start`` (a restart as slow as a busy server's). Waits until it
        accepts connections again; says what was done."""
        if down > 0:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")
            time.sleep(down)
            self._ctl("start")
            how = f"pg_ctl stop -m fast, {down:g} s down, pg_ctl start"
        else:
            self._ctl("restart", "-m", "fast")
            how = "pg_ctl restart -m fast"
        self.restarts += 1
        return f"PostgreSQL restarted for real ({how}; the run's private cluster, port {self.port})"

    def destroy(self) -> None:
        """Stop the server (immediately) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.dir, ignore_errors=True)
