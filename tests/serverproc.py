"""Start the real ``serve.py`` as a process on a free port, for tests and benchmarks.

with ServerProcess(["--access-ttl", "4"], db=tmp / "t.sqlite3") as srv:
    httpx.get(srv.url + "config.json")

``PYAUTH_TEST_RUNTIME=micropython|pyodide`` serves every page of a test run on that runtime
(``serve.py --runtime``, contract section 11) unless the args name one; unset, serve.py's default.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
#: The environment variable that picks the page's runtime for a whole test run.
RUNTIME_ENV = "PYAUTH_TEST_RUNTIME"


def runtime_args(args: list[str], script: Path) -> list[str]:
    """``args`` plus ``--runtime`` from :data:`RUNTIME_ENV` when it is set, the script is
    serve.py and the args choose no runtime themselves."""
    chosen = os.environ.get(RUNTIME_ENV, "")
    if not chosen or script != ROOT / "serve.py" or "--runtime" in args:
        return args
    return [*args, "--runtime", chosen]


class ServerProcess:
    def __init__(
        self,
        args: list[str] | None = None,
        db: Path | None = None,
        start_timeout: float = 30,
        script: Path = ROOT / "serve.py",
    ) -> None:
        self.args = runtime_args(list(args or []), script)
        self.script = script  # serve.py, or a script that takes its flags (bench/page_server.py)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if db is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="serve-test-")
            db = Path(self._tmp.name) / "tokens.sqlite3"
        self.db = db
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self) -> ServerProcess:
        cmd = [sys.executable, str(self.script), "--port", "0", "--db", str(self.db), *self.args]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ}
        )
        found = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line.rstrip("\n"))
                if line.startswith("Serving on ") and not found.is_set():
                    self.url = line.split()[-1]
                    found.set()
            found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(self.start_timeout) or not self.url:
            self.stop()
            raise RuntimeError("serve.py did not start:\n" + "\n".join(self.output))
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
