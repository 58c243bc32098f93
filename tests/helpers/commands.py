"""The app's command (`saleor-coinpayments …`) as its own process, started without paying its imports.

Starting the console script costs a new interpreter that imports FastAPI, SQLAlchemy, pydantic,
Alembic, … : about two seconds of CPU, and the end-to-end tests start the app (or a CLI command)
well over a hundred times per database. Here the command runs in a child forked from a server
process that imported those modules once (multiprocessing's forkserver, one per test worker).
The child is a real, separate process running the same entry point (`saleor_coinpayments.cli.main`)
with its own environment and working directory: it can be SIGKILLed or sent SIGTERM, and its exit
code is the command's. Tests of the console script itself (tests/integration/app) still exec it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path

# Imported once, in the fork server: what `serve` and the CLI commands need.
_PRELOAD = [
    "saleor_coinpayments.cli",
    "saleor_coinpayments.app",
    "saleor_coinpayments.store.migrate",
    "saleor_coinpayments.payments.delivery.workers",
    "saleor_coinpayments.payments.invoicing.sent_invoice_command",
    "saleor_coinpayments.payments.refunds.commands",
    "saleor_coinpayments.payments.delivery.outbox_commands",
    "saleor_coinpayments.configuration.commands",
    "uvicorn",
    "tests.helpers.commands",
]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(_PRELOAD)


def _write_to(stdout: str, stderr: str) -> None:
    """Point this process's stdout and stderr at these files."""
    for fd, path in ((1, stdout), (2, stderr)):
        target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(target, fd)
        os.close(target)


def _run(argv: list[str], env: dict[str, str], cwd: str, output: str | None, parent: int) -> None:
    """In the child: become `saleor-coinpayments ARGV` in ENV and CWD, and exit with its code.

    Its output goes to `output` (and `output`.err), or else where the test process's output goes
    now (pytest's capture of the running test, as for a child the test started itself)."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if output is not None:
        _write_to(output, output + ".err")
    else:
        with contextlib.suppress(OSError):
            _write_to(f"/proc/{parent}/fd/1", f"/proc/{parent}/fd/2")
    from saleor_coinpayments.cli import main

    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


class CommandProcess:
    """A running command, with the part of `subprocess.Popen`'s interface the tests use."""

    def __init__(self, process: BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired("saleor-coinpayments", timeout or 0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self._process.exitcode is None:
            self._process.kill()


def start_command(argv: Sequence[str], env: dict[str, str], cwd: Path, output: Path | None = None) -> CommandProcess:
    """`saleor-coinpayments ARGV` running in the background; its output goes to `output` (and
    `output`.err) if given, or else where the tests' goes."""
    target = None if output is None else str(output)
    process = _context.Process(target=_run, args=(list(argv), env, str(cwd), target, os.getpid()), daemon=True)
    process.start()
    return CommandProcess(process)


def run_command(
    argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`saleor-coinpayments ARGV` to its end, with its exit code and output (as `subprocess.run`)."""
    with tempfile.TemporaryDirectory() as folder:
        output = os.path.join(folder, "out")
        process = _context.Process(target=_run, args=(list(argv), env, str(cwd), output, os.getpid()), daemon=True)
        process.start()
        command = CommandProcess(process)
        try:
            code = command.wait(timeout)
        finally:
            command.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                command.wait(10)
        stdout = Path(output).read_text(encoding="utf-8", errors="replace")
        stderr = Path(output + ".err").read_text(encoding="utf-8", errors="replace")
    return subprocess.CompletedProcess(["saleor-coinpayments", *argv], code, stdout, stderr)
