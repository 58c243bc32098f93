"""The simulator's answers, byte for byte, as a stored fixture: rendering may get faster, never different.

The fixture (golden/answers.json) holds the bytes of every REST answer the render module makes, the
List pages, the control view, the webhook bodies and a problem, for the seeded simulator of
render_world.py. It was written by the renderer before it was made faster; after a deliberate
change of an answer, write it again with

    .venv/bin/python -m tests.unit.simulator.test_render_golden --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from saleor_coinpayments.simulator import render
from saleor_coinpayments.simulator.api_routes import _paging
from saleor_coinpayments.simulator.control_routes import invoice_view
from saleor_coinpayments.simulator.domain import INVOICE_STATUSES
from saleor_coinpayments.simulator.engine import Engine
from saleor_coinpayments.simulator.jsonenc import encode
from saleor_coinpayments.simulator.problems import problem_body
from saleor_coinpayments.simulator.state import json_response
from tests.unit.simulator.render_world import CLIENT, KINDS, build, seeded

FIXTURE = Path(__file__).parent / "golden" / "answers.json"


def _body(value: object) -> bytes:
    return bytes(json_response(value).body)


def answers(engine: Engine) -> dict[str, bytes]:
    """Every answer of the seeded simulator, by a name that says which."""
    out: dict[str, bytes] = {}
    book, account = engine.book, engine.clients[CLIENT]
    for status in (None, *INVOICE_STATUSES):
        after: str | None = None
        for page in range(3):
            items, after = engine.list_invoices(account, status=status, after=after, limit=7)
            out[f"list {status} {page}"] = _body(
                {"items": [render.summary_v1(i) for i in items], "paging": _paging(after, 7)}
            )
            if after is None:
                break
    for n, invoice in enumerate(engine.invoices.values()):
        if n < KINDS:  # the second round takes the same paths here
            out[f"{n} created"] = _body({"invoices": [render.created_v2(invoice, book)]})
            out[f"{n} v2"] = _body(render.invoice_v2(invoice, False))
        out[f"{n} v2 full"] = _body(render.invoice_v2(invoice, True))
        out[f"{n} v1"] = _body(render.invoice_v1(invoice))
        out[f"{n} control"] = _body(invoice_view(invoice))
        payment = invoice.payment
        if payment is None:
            continue
        unpaid = next(c for c in book.payable() if c.id not in payment.wallets)
        for coin in (*(w.currency for w in payment.wallets.values()), unpaid):  # the wallets and a coin without
            wallet = payment.wallets.get(coin.id)
            due = book.convert_due(invoice.total, invoice.currency, coin)
            out[f"{n} status {coin.symbol}"] = _body(render.payment_status(invoice, coin, wallet, due))
            if wallet is not None:
                out[f"{n} details {coin.symbol}"] = _body(render.payment_details(invoice, wallet))
    for n, notification in enumerate(engine.drain()[::5]):
        out[f"webhook {n} {notification.event}"] = encode(notification.body)
    out["problem"] = problem_body(400, "Bad \u2028 thing", {"Items[0].Amount": ["'1e5' is not a plain decimal"]}, "/x")
    return out


def golden_answers() -> dict[str, bytes]:
    """Two rounds of every kind of invoice, rendered with the same seeded ids as when the fixture was written."""
    engine = build(2 * KINDS, keep_notifications=True)
    with seeded(11):
        return answers(engine)


def test_answers_are_the_stored_bytes() -> None:
    stored = {name: text.encode("utf-8") for name, text in json.loads(FIXTURE.read_text("utf-8")).items()}
    made = golden_answers()
    assert sorted(made) == sorted(stored)
    for name, body in made.items():
        if body != stored[name]:
            at = next((i for i, (a, b) in enumerate(zip(body, stored[name], strict=False)) if a != b), len(body))
            raise AssertionError(
                f"{name} differs at byte {at}: {body[at - 40 : at + 40]!r} != {stored[name][at - 40 : at + 40]!r}"
            )


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit(__doc__)
    texts = {name: body.decode("utf-8") for name, body in golden_answers().items()}
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(texts, indent=0, ensure_ascii=True) + "\n", "utf-8")
    print(f"{len(texts)} answers, {sum(map(len, texts.values()))} characters → {FIXTURE}")
