"""bench/scale.py's last phase: the summed CoinPayments rate across restarts and a rolling deploy,
with the reconcilers asking for far more than the limit.

Every open invoice is made due at once (10,000 reads at 63.2 a second is two and a half minutes of
work), then each replica in turn is replaced as a rolling deploy does it (the new process started
and ready before the old one gets SIGTERM), then one is SIGKILLed and started again. The simulator's
meter gives the most requests that arrived within any sliding second of the phase.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from bench.margins import MarginTally, note
from bench.world import BenchWorld, Replica


def _make_everything_due(world: BenchWorld) -> int:
    async def run() -> int:
        conn = await asyncpg.connect(world.dsn, timeout=10)
        try:
            status = await conn.execute(
                "UPDATE payments SET next_check_at = now(), read_by = now() WHERE next_check_at IS NOT NULL"
            )
            return int(status.rsplit(" ", 1)[1])
        finally:
            await conn.close()

    return asyncio.run(run())


def restarts_under_load(world: BenchWorld, replicas: list[Replica], settle: float = 10.0) -> list[str]:
    """The phase; `replicas` are the running ones (replaced in place by their successors)."""
    world.sim.control("DELETE", "/api-rate")
    tally = MarginTally()
    tally.start([replica.base_url for replica in replicas])
    due = _make_everything_due(world)
    started = time.monotonic()
    time.sleep(settle)
    for n, old in enumerate(list(replicas)):
        new = world.replica()
        new.start()  # returns once the new replica is ready
        tally.leaving(old.base_url)
        old.stop()  # SIGTERM: it finishes its reads in flight and exits
        replicas[n] = new
    victim = replicas[-1]
    tally.leaving(victim.base_url)
    victim.kill()
    victim.start()
    time.sleep(settle)
    elapsed = time.monotonic() - started
    counted = world.sim.control("GET", "/api-rate")["clients"].get(world.sim.client_id, {})
    return [
        f"restarts: {due} invoices made due at once, then a rolling deploy of {len(replicas)} replica(s)"
        f" and one SIGKILL + start, over {elapsed:.0f} s: {counted.get('requests', 0) / elapsed:.1f} requests/s,"
        f" most in any sliding second {counted.get('maxPerSecond', 0)} (limit 70),"
        f" answered 429: {counted.get('rateLimited', 0)}",
        f"restarts: {note(world, tally, [replica.base_url for replica in replicas])}",
    ]
