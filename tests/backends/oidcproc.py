"""Start the real OpenID provider (``tests/backends/oidc_provider.mjs``, panva's oidc-provider)
as a process on a free port, for tests::

    with OidcProviderProcess(client_id="spa", redirect_uris=["http://127.0.0.1:9/"]) as op:
        httpx.get(op.issuer + "/.well-known/openid-configuration")

The issuer carries the port, so the port is picked before the provider starts (a port
taken in between makes the start fail loudly, not hang).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path
from types import TracebackType

from tests.serverproc import ROOT

SCRIPT = Path(__file__).resolve().parent / "oidc_provider.mjs"
READY = "oidc-provider ready: issuer "


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def provider_available() -> str | None:
    """Why the provider cannot run here (``None``: it can): no ``node``, or the npm package missing."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "node_modules" / "oidc-provider" / "package.json").is_file():
        return "npm package oidc-provider is not installed (npm ci)"
    return None


class OidcProviderProcess:
    def __init__(
        self,
        *,
        client_id: str = "pyauth-spa",
        redirect_uris: list[str],
        access_ttl: int = 6,
        start_timeout: float = 30,
        alg_clients: dict[str, str] | None = None,
    ) -> None:
        self.client_id, self.redirect_uris, self.access_ttl = client_id, redirect_uris, access_ttl
        #: More public clients, client id -> the alg of their ID tokens (``{"spa-es": "ES256"}``).
        self.alg_clients = dict(alg_clients or {})
        self.start_timeout = start_timeout
        self.port = 0
        self.issuer = ""
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> OidcProviderProcess:
        self.port = free_port()
        cmd = ["node", str(SCRIPT), "--port", str(self.port), "--client-id", self.client_id]
        cmd += ["--access-ttl", str(self.access_ttl)]
        for uri in self.redirect_uris:
            cmd += ["--redirect-uri", uri]
        for client_id, alg in self.alg_clients.items():
            cmd += ["--alg-client", f"{client_id}={alg}"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        found = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line.rstrip("\n"))
                if line.startswith(READY) and not found.is_set():
                    self.issuer = line[len(READY) :].strip()
                    found.set()
            found.set()  # the process ended before it was ready

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(self.start_timeout) or not self.issuer:
            self.stop()
            raise RuntimeError("oidc-provider did not start:\n" + "\n".join(self.output))
        return self

    def stop(self, timeout: float = 5) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> OidcProviderProcess:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
