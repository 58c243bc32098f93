"""How long the simulator takes to render its REST answers, which it does with its one event loop held.

    .venv/bin/python -m bench.sim_render [--invoices 3200] [--repeat 5] [--profile list]

Builds the golden test's simulator (tests/unit/simulator/render_world.py: every invoice state, a
merchant's invoices made oldest first) and times, best of `--repeat` in CPU time, each answer as its route
makes it: the body (render.py) and its bytes (jsonenc.py). `--profile NAME` prints a cProfile of one
answer's loop instead.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable

from saleor_coinpayments.simulator import render
from saleor_coinpayments.simulator.engine import Engine
from saleor_coinpayments.simulator.jsonenc import encode
from tests.unit.simulator.render_world import CLIENT, build


def _page(engine: Engine, status: str | None) -> Callable[[], bytes]:
    account = engine.clients[CLIENT]
    invoices, after = engine.list_invoices(account, status=status, limit=100)

    def answer() -> bytes:
        paging = {"cursors": {"before": None, "after": after}, "limit": 100}
        return encode({"items": [render.summary_v1(i) for i in invoices], "paging": paging})

    return answer


def answers(engine: Engine) -> dict[str, tuple[Callable[[], object], int]]:
    """Each answer's loop and how many answers one call of it makes."""
    book = engine.book
    some = list(engine.invoices.values())[-100:]
    coins = [(i, w) for i in some if i.payment is not None for w in i.payment.wallets.values()]

    def status() -> None:
        for invoice, wallet in coins:
            coin = wallet.currency
            encode(
                render.payment_status(invoice, coin, wallet, book.convert_due(invoice.total, invoice.currency, coin))
            )

    return {
        "list (all statuses), page of 100": (_page(engine, None), 1),
        "list (status=completed), page of 100": (_page(engine, "completed"), 1),
        "list (status=unpaid), page of 100": (_page(engine, "unpaid"), 1),
        "invoice_v2 full": (lambda: [encode(render.invoice_v2(i, True)) for i in some], len(some)),
        "invoice_v2": (lambda: [encode(render.invoice_v2(i, False)) for i in some], len(some)),
        "invoice_v1": (lambda: [encode(render.invoice_v1(i)) for i in some], len(some)),
        "payment status": (status, len(coins)),
        "payment details": (lambda: [encode(render.payment_details(i, w)) for i, w in coins], len(coins)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=3200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", help="profile the answer whose name starts with this")
    args = parser.parse_args()
    engine = build(args.invoices)
    for name, (run, per_call) in answers(engine).items():
        if args.profile:
            if name.startswith(args.profile):
                profile = cProfile.Profile()
                profile.runcall(run)
                pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            continue
        best = float("inf")
        for _ in range(args.repeat):
            start = time.process_time()  # the loop's own work: a shared machine's other processes left out
            run()
            best = min(best, time.process_time() - start)
        each = best / per_call * 1e3
        print(f"{name:40s} {best * 1e3:8.2f} ms per call  {each:7.3f} ms per answer ({per_call} answers)")


if __name__ == "__main__":
    main()
