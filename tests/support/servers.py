"""Real processes on real sockets: start a server command, wait until it answers, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A child process serving HTTP on ``url``; its output is kept in a log file."""

    args: Sequence[str]
    url: str
    health_path: str = "/healthz"
    env: Mapping[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    cwd: Path = ROOT  # where the process starts: ``python -m`` imports the code found there first
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        env = {**os.environ, **self.env}
        self._log = open(self.log_path, "wb") if self.log_path else None  # noqa: SIM115 - closed in stop()
        out = self._log if self._log is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(list(self.args), cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.args} exited with {self.proc.returncode}; log: {self.log_text()}")
            try:
                with urllib.request.urlopen(self.url + self.health_path, timeout=1) as resp:  # noqa: S310
                    if resp.status < 500:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.args} did not answer on {self.url} within {timeout}s; log: {self.log_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        try:
            return None if self.proc is None else stop_process(self.proc, sig, timeout)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path and self.log_path.exists() else ""


def stop_process(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
    """Send ``sig`` to a child that is still running and wait; kill it if it outlives ``timeout``. Its exit code."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


@contextmanager
def served_in_thread(app: Any) -> Iterator[str]:
    """``app`` (ASGI) under uvicorn in a daemon thread on a free loopback port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("the in-thread server did not start within 10 s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
