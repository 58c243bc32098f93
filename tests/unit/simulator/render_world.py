"""A simulator holding invoices in every state the REST answers render, the same on every build.

Ids, addresses and transaction hashes come from a seeded generator and the clock is fixed, so the
rendered answers are byte-for-byte reproducible (the golden test, test_render_golden.py) and the
render bench (bench/sim_render.py) times the same kinds of invoices.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from unittest import mock

from saleor_coinpayments.simulator import addresses, problems, webhook_payload
from saleor_coinpayments.simulator import engine as engine_module
from saleor_coinpayments.simulator.clock import SimClock
from saleor_coinpayments.simulator.currencies import USDT_ERC20, USDT_TRC20, CurrencyBook
from saleor_coinpayments.simulator.domain import ClientWebhook, Invoice
from saleor_coinpayments.simulator.engine import Engine
from saleor_coinpayments.simulator.validation import validate_create_v2

CLIENT = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
T0 = datetime(2025, 3, 1, 2, 30, 15, 250000, tzinfo=UTC)
#: How many kinds of invoice `build` cycles through (one of each per round).
KINDS = 16


class Wall:
    """A wall clock the builder moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """uuid4, token_hex and the address alphabet picks of the simulator from one seeded generator."""
    rng = random.Random(seed)

    def uuid4() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    def token_hex(nbytes: int = 32) -> str:
        return rng.randbytes(nbytes).hex()

    fake_uuid = SimpleNamespace(uuid4=uuid4, uuid5=uuid.uuid5, NAMESPACE_OID=uuid.NAMESPACE_OID, UUID=uuid.UUID)
    fake_secrets = SimpleNamespace(token_hex=token_hex, choice=rng.choice, token_bytes=rng.randbytes)
    with (
        mock.patch.object(engine_module, "uuid", fake_uuid),
        mock.patch.object(engine_module, "secrets", fake_secrets),
        mock.patch.object(addresses, "secrets", fake_secrets),
        mock.patch.object(webhook_payload, "secrets", fake_secrets),
        mock.patch.object(problems, "secrets", fake_secrets),
    ):
        yield


def _body(kind: int, n: int) -> dict[str, Any]:
    """A create request; the richer kinds carry taxes, discounts, a buyer, shipping and texts."""
    coin = {0: "1", 2: "1", 3: "4", 4: "1", 5: "1002", 6: "1", 7: "9", 12: USDT_ERC20, 13: USDT_TRC20, 14: "1"}
    payment: dict[str, Any] = {"refundEmail": f"buyer{n}@example.com"}
    if kind in coin:
        payment["paymentCurrency"] = coin[kind]
    currency = {9: "5058", 10: "5060", 11: "5062", 15: "5059"}.get(kind, "5057")
    places = {"5060": 0, "5062": 3}.get(currency, 2)
    unit = "1" if places == 0 else "1." + "0" * (places - 1) + "7"
    price = f"{19 + n % 7}.{'9' * places}" if places else str(1999 + n % 7)
    body: dict[str, Any] = {
        "currency": currency,
        "invoiceId": f"scp-{n:06d}",
        "items": [{"name": "Widget \u00e9\u201c", "quantity": {"value": 1, "type": "quantity"}, "amount": price}],
        "amount": {"breakdown": {"subtotal": price}, "total": price},
        "payment": payment,
    }
    if kind in (9, 10, 11, 15):
        tax = unit
        body["items"] = [
            {
                "name": "Widget",
                "customId": f"w-{n}",
                "sku": "SKU-1",
                "description": 'A "quoted" line\nwith a break',
                "quantity": {"value": 2, "type": "quantity"},
                "originalAmount": price,
                "amount": price,
                "tax": tax,
            },
            {"name": "Hours", "quantity": {"value": 3, "type": "hours"}, "amount": unit},
        ]
        subtotal = str(Decimal(price) + Decimal(unit))
        shipping = discount = unit
        total = str(Decimal(subtotal) + Decimal(shipping) + Decimal(tax) - Decimal(discount))
        body["amount"] = {
            "breakdown": {"subtotal": subtotal, "shipping": shipping, "taxTotal": tax, "discount": discount},
            "total": total,
        }
        body["buyer"] = {
            "companyName": "Acme",
            "name": {"firstName": "Ada", "lastName": "L\u00f6vlace"},
            "emailAddress": f"buyer{n}@example.com",
            "phoneNumber": "+1 555 0100",
            "address": {"address1": "1 Main St", "city": "Springfield", "countryCode": "US", "postalCode": "12345"},
        }
        body["shipping"] = {
            "method": "Courier",
            "companyName": "Acme",
            "name": {"firstName": "Ada", "lastName": "Lovelace"},
            "address": {"address1": "2 Side St", "city": "Shelbyville", "countryCode": "US"},
            # what else a client sends is kept as parsed (JSON fractions are Decimals) and sent back
            "weightKg": Decimal("1.500"),
            "volume": Decimal("2E+1"),
            "fragile": False,
            "tags": ["a", "b"],
        }
        body["description"] = f"Order #{n}\u2028\x07 \u00e9\U0001f600 </script>"
        body["notes"] = "Thanks"
        body["notesToRecipient"] = "Deliver <b>soon</b>"
        body["termsAndConditions"] = "None"
        body["customData"] = {"order": str(n)}
        body["metadata"] = {"integration": "saleor", "hostname": "shop.example"}
        body["requireBuyerNameAndEmail"] = True
        body["isEmailDelivery"] = True
        body["emailDelivery"] = {"to": f"buyer{n}@example.com", "cc": "cc@example.com"}
    return body


def _advance(engine: Engine, wall: Wall, delta: timedelta) -> None:
    wall.now += delta
    engine.tick()


def _shape(engine: Engine, invoice: Invoice, kind: int) -> None:
    """Payments and confirmations that put `invoice` in the state of its kind."""
    book = engine.book
    if kind == 2:  # detected: on its way, unconfirmed
        engine.pay(invoice, "1", "full", 0)
    elif kind == 3:  # pending: 1 of 12 confirmations
        engine.pay(invoice, "4", "full", 1)
    elif kind == 4:  # paid
        engine.pay(invoice, "1", "full", 2)
    elif kind == 5:  # completed, with its payout
        engine.pay(invoice, "1002", "full", 2)
        engine.complete(invoice)
    elif kind == 6:  # partly paid, partly confirmed
        engine.pay(invoice, "1", "partial:0.4", 1)
    elif kind == 7:  # overpaid
        engine.pay(invoice, "9", "over:0.1", 19)
    elif kind == 8:  # two coins, both partly paid
        engine.payment_address(invoice, book.get("4"))
        engine.payment_address(invoice, book.get("1"))
        engine.pay(invoice, "4", "partial:0.5", 3)
        engine.pay(invoice, "1", "partial:0.25", 1)
    elif kind in (9, 11):  # a rich invoice, paid in ETH
        engine.payment_address(invoice, book.get("4"))
        engine.pay(invoice, "4", "full", 12)
    elif kind == 10:  # cancelled
        engine.cancel(invoice)
    elif kind == 12:
        engine.pay(invoice, USDT_ERC20, "full", 5)
    elif kind == 13:
        engine.pay(invoice, USDT_TRC20, "full", 19)
        engine.complete(invoice)
    elif kind == 15:  # a rich invoice with a wallet and nothing paid
        engine.payment_address(invoice, book.get("1002"))
    # 0: unpaid with a wallet; 1: unpaid without one; 14: made before the window closes (see `build`)


def build(count: int, seed: int = 7, keep_notifications: bool = False) -> Engine:
    """An engine with `count` invoices of one merchant, cycling through `KINDS` kinds, the oldest first.

    The first round's kind-14 invoices time out with a late transfer; the first paid ones complete
    on the clock. Everything else stays as `_shape` left it."""
    wall = Wall()
    with seeded(seed):
        engine = Engine(CurrencyBook.create(), SimClock(wall))
        account = engine.add_client(CLIENT, "secret")
        account.partial_accept_available = False
        account.webhooks["hook"] = ClientWebhook(
            "hook", "http://shop.test/hook", ("invoiceCreated", "invoicePending", "invoicePaid", "invoiceCompleted")
        )
        made: list[tuple[Invoice, int]] = []
        for n in range(count):
            kind = n % KINDS
            wall.now += timedelta(seconds=1, microseconds=23457)
            req = validate_create_v2(_body(kind, n), engine.book, CLIENT)
            invoice = engine.create_invoice(account, req, "http://sim.test")
            made.append((invoice, kind))
            _shape(engine, invoice, kind)
            if n == KINDS - 1:  # the first round ages: windows close, paid invoices complete
                _advance(engine, wall, timedelta(hours=2))
                late = next(i for i, k in made if k == 14)
                engine.pay(late, "1", "full", 1)  # after the window: refunded, never credited
                engine.refund(late)
        if not keep_notifications:
            engine.drain()
        return engine
