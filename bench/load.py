"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams.

httpx costs several times more CPU per request than a bare uvicorn endpoint, and on a small machine
the generator shares the cores with the server, so a heavy client would cap the baseline (the echo)
and flatter every ratio. This one only writes prepared bytes and reads `Content-Length` framed
answers: `concurrency` connections, each with one request in flight, take requests from one list
until it is used up. Latency is measured per request from the write to the last byte read.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PreparedRequest:
    raw: bytes

    @classmethod
    def post(cls, host: str, path: str, body: bytes, headers: dict[str, str]) -> PreparedRequest:
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        return cls(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


Check = Callable[[int, bytes], bool]


@dataclass
class LoadResult:
    name: str
    concurrency: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: int = 0
    first_failure: str | None = None
    client_cpu_seconds: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU time the watched processes (server, simulator) used during the batch."""
    machine_busy_seconds: float = 0.0
    """CPU time the whole machine (every process) used during the batch."""

    @property
    def other_cpu_seconds(self) -> float:
        """CPU time of processes that are not part of the benchmark (neighbours on the machine)."""
        ours = sum(self.cpu_seconds.values()) + self.client_cpu_seconds
        return max(0.0, self.machine_busy_seconds - ours)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the latencies (ms)."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
        return ordered[rank - 1]

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux); 0 elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all processes used since boot, from /proc/stat (Linux); 0 elsewhere."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
    except OSError:
        return 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
            break
    if length is None:
        raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
    return status, await reader.readexactly(length) if length else b""


async def run_load(
    name: str,
    host: str,
    port: int,
    requests: Sequence[PreparedRequest],
    *,
    concurrency: int,
    check: Check,
    watch: dict[str, int] | None = None,
) -> LoadResult:
    """Send every request once over `concurrency` keep-alive connections; time the whole batch."""
    latencies: list[float] = []
    failures: list[str] = []
    next_index = 0
    total = len(requests)

    connections = [await asyncio.open_connection(host, port) for _ in range(min(concurrency, total))]

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal next_index
        while next_index < total:
            request = requests[next_index]
            next_index += 1
            started = time.perf_counter()
            writer.write(request.raw)
            status, body = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            if not check(status, body):
                failures.append(f"{status} {body[:300]!r}")

    watch = watch or {}
    cpu_before = {label: process_cpu_seconds(pid) for label, pid in watch.items()}
    machine_before = machine_busy_seconds()
    client_cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in connections))
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    cpu = {label: process_cpu_seconds(pid) - cpu_before[label] for label, pid in watch.items()}
    machine = machine_busy_seconds() - machine_before
    for _, writer in connections:
        writer.close()
    for _, writer in connections:
        try:
            await writer.wait_closed()
        except OSError:
            pass
    return LoadResult(
        name=name,
        concurrency=concurrency,
        requests=total,
        seconds=seconds,
        latencies_ms=latencies,
        failures=len(failures),
        first_failure=failures[0] if failures else None,
        client_cpu_seconds=client_cpu,
        cpu_seconds=cpu,
        machine_busy_seconds=machine,
    )
