"""The simulator's memory and its rules: invoice life (coinpayments.md#statuses, #simulator) and the events it emits.

Every public method takes the engine lock, so a uvicorn server (one loop, maybe threads in
tests) sees consistent invoices. Methods never wait on I/O: notifications are queued in an
outbox that the app hands to the webhook dispatcher after the call returns.
"""

from __future__ import annotations

import heapq
import itertools
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from saleor_coinpayments.simulator import events as ev
from saleor_coinpayments.simulator.addresses import new_address
from saleor_coinpayments.simulator.clock import SimClock
from saleor_coinpayments.simulator.currencies import Currency, CurrencyBook
from saleor_coinpayments.simulator.domain import (
    ACTIVE_STATUSES,
    ClientAccount,
    HotWallet,
    Invoice,
    Payment,
    Transfer,
)
from saleor_coinpayments.simulator.listing import InvoiceIndex
from saleor_coinpayments.simulator.problems import Problem, bad_request, not_found
from saleor_coinpayments.simulator.validation import CreateInvoice
from saleor_coinpayments.simulator.webhook_payload import PayloadStyle, notification_body

_AMOUNT_SPEC = re.compile(r"(full|partial|over)(?::\s*(\d+(?:\.\d+)?))?")


@dataclass
class SimSettings:
    """Knobs the real service does not document; defaults in coinpayments.md#simulator."""

    payment_window: timedelta = timedelta(minutes=60)
    invoice_lifetime: timedelta = timedelta(days=365)
    completion_delay: timedelta = timedelta(minutes=10)
    merchant_fee_rate: Decimal = Decimal("0.005")
    payload_style: PayloadStyle = field(default_factory=PayloadStyle)


@dataclass(frozen=True, slots=True)
class Notification:
    """One webhook to send: who signs it, where it goes, and the body as of the transition."""

    event: str
    invoice_id: str
    client_id: str
    secret: str
    url: str
    source: str  # "client" (integration webhook) or "invoice" (the invoice's own webhooks[])
    body: dict[str, object]


def new_client_id() -> str:
    return uuid.uuid4().hex


def new_client_secret() -> str:
    import base64

    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class Engine:
    def __init__(self, book: CurrencyBook, clock: SimClock, settings: SimSettings | None = None) -> None:
        self.book = book
        self.clock = clock
        self.settings = settings or SimSettings()
        self.lock = threading.RLock()
        self.clients: dict[str, ClientAccount] = {}
        self.invoices: dict[str, Invoice] = {}
        self.index = InvoiceIndex()  # List invoices' view: by merchant, creation order and status
        self._po_numbers: dict[str, set[str]] = {}
        self._po_counter = itertools.count(1)
        self._deadlines: list[tuple[datetime, int, str]] = []
        self._seq = itertools.count()
        self._outbox: list[Notification] = []
        self.listeners: list[Callable[[], None]] = []

    # --- accounts ------------------------------------------------------------------------

    def add_client(self, client_id: str | None = None, secret: str | None = None) -> ClientAccount:
        with self.lock:
            cid = client_id or new_client_id()
            account = ClientAccount(cid, secret or new_client_secret(), str(uuid.uuid5(uuid.NAMESPACE_OID, cid)))
            self.clients[cid] = account
            return account

    def client(self, client_id: str) -> ClientAccount | None:
        return self.clients.get(client_id)

    def reset(self) -> None:
        """Forget invoices, deadlines and queued notifications (clients and their webhooks stay)."""
        with self.lock:
            self.invoices.clear()
            self.index.clear()
            self._po_numbers.clear()
            self._deadlines.clear()
            self._outbox.clear()

    # --- outbox --------------------------------------------------------------------------

    def drain(self) -> list[Notification]:
        with self.lock:
            out, self._outbox = self._outbox, []
            return out

    def _emit(self, invoice: Invoice, event: str) -> None:
        account = self.clients.get(invoice.client_id)
        if account is None:
            return
        body = notification_body(event, invoice, self.clock.now(), self.settings.payload_style)
        targets: list[tuple[str, str]] = []
        for hook in account.webhooks.values():
            if any(ev.event_of(name) == event for name in hook.notifications):
                targets.append((hook.notifications_url, "client"))
        for sub in invoice.request.webhooks:
            if any(ev.event_of(name) == event for name in sub.notifications):
                targets.append((sub.notifications_url, "invoice"))
        for url, source in targets:
            self._outbox.append(Notification(event, invoice.id, account.client_id, account.secret, url, source, body))

    # --- time ----------------------------------------------------------------------------

    def _schedule(self, invoice: Invoice, when: datetime) -> None:
        heapq.heappush(self._deadlines, (when, next(self._seq), invoice.id))

    def tick(self) -> None:
        """Apply every deadline that the simulated clock has passed (expiry, scheduling, completion)."""
        with self.lock:
            now = self.clock.now()
            while self._deadlines and self._deadlines[0][0] <= now:
                _, _, invoice_id = heapq.heappop(self._deadlines)
                invoice = self.invoices.get(invoice_id)
                if invoice is not None:
                    self._apply_time(invoice, now)

    def advance(self, delta: timedelta) -> datetime:
        with self.lock:
            moment = self.clock.advance(delta)
            self.tick()
            return moment

    def _apply_time(self, invoice: Invoice, now: datetime) -> None:
        req = invoice.request
        if invoice.status == "scheduled" and req.invoice_date is not None and req.invoice_date <= now:
            self._set_status(invoice, "unpaid", now)
        payment = invoice.payment
        if invoice.status in ACTIVE_STATUSES and payment is not None and payment.expires_at <= now:
            self._payment_window_closed(invoice, payment, now)
        if invoice.status in ("draft", "scheduled", "unpaid") and invoice.expires_at <= now:
            self._time_out(invoice, now)
        if (
            invoice.status == "paid"
            and invoice.confirmed_at is not None
            and invoice.confirmed_at + self.settings.completion_delay <= now
        ):
            self._complete(invoice, now)

    def _payment_window_closed(self, invoice: Invoice, payment: Payment, now: datetime) -> None:
        if payment.coverage("seen") >= 1:
            return  # the full amount is on its way: confirmations may still arrive (paid late)
        if payment.has_funds and invoice.partial_accept_available:
            invoice.partial_accepted = True
            self._evaluate(invoice, now, changed=False)
            return
        self._time_out(invoice, now)

    def _time_out(self, invoice: Invoice, now: datetime) -> None:
        payment = invoice.payment
        invoice.timed_out_at = now
        if payment is not None:
            payment.state = "timedOutWaitingRefund" if payment.has_funds else "created"
            payment.cancelled_at = now
        self._set_status(invoice, "timedOut", now)
        if payment is not None and payment.wallets:
            self._emit(invoice, ev.PAYMENT_TIMED_OUT)

    # --- transitions ---------------------------------------------------------------------

    _EVENT_OF_STATUS = {
        "pending": ev.INVOICE_PENDING,
        "paid": ev.INVOICE_PAID,
        "completed": ev.INVOICE_COMPLETED,
        "cancelled": ev.INVOICE_CANCELLED,
        "timedOut": ev.INVOICE_TIMED_OUT,
    }

    def _set_status(self, invoice: Invoice, status: str, now: datetime) -> None:
        old, invoice.status = invoice.status, status
        self.index.moved(invoice, old)
        invoice.history.append((status, now))
        event = self._EVENT_OF_STATUS.get(status)
        if event is not None:
            self._emit(invoice, event)

    def _complete(self, invoice: Invoice, now: datetime) -> None:
        invoice.completed_at = now
        if invoice.payment is not None:
            invoice.payment.state = "completed"
            invoice.payment.completed_at = now
            for wallet in invoice.payment.wallets.values():
                if wallet.seen > 0:  # the payout to the merchant leaves with the completion
                    wallet.payout_tx = secrets.token_hex(32)
                    wallet.paid_out_at = now
        self._set_status(invoice, "completed", now)

    def _evaluate(self, invoice: Invoice, now: datetime, changed: bool) -> None:
        """Move an active invoice forward after funds arrived or a block confirmed them."""
        payment = invoice.payment
        if payment is None or invoice.status not in ACTIVE_STATUSES:
            return
        transfers = [t for w in payment.wallets.values() for t in w.transfers if not t.late]
        if transfers and payment.detected_at is None:
            payment.detected_at = now
            payment.state = "detected"
        if not any(t.confirmations >= 1 for t in transfers):
            return
        entered = invoice.status == "unpaid"
        if entered:
            payment.state = "pending"
            payment.pending_at = now
            self._set_status(invoice, "pending", now)
        confirmed = payment.coverage("confirmed")
        all_confirmed = all(
            t.confirmations >= w.required_confirmations
            for w in payment.wallets.values()
            for t in w.transfers
            if not t.late
        )
        if confirmed >= 1 or (invoice.partial_accepted and confirmed > 0 and all_confirmed):
            payment.state = "confirmed"
            payment.confirmed_at = now
            invoice.confirmed_at = now
            self._set_status(invoice, "paid", now)
            self._schedule(invoice, now + self.settings.completion_delay)
        elif changed and not entered:
            self._emit(invoice, ev.INVOICE_PENDING)

    # --- API operations ------------------------------------------------------------------

    def create_invoice(self, account: ClientAccount, req: CreateInvoice, public_base: str) -> Invoice:
        with self.lock:
            self.tick()
            now = self.clock.now()
            numbers = self._po_numbers.setdefault(account.merchant_id, set())
            if req.po_number is not None and req.po_number in numbers:
                raise bad_request("PoNumber", f"PO number '{req.po_number}' is already used by another invoice.")
            po_number = req.po_number or f"{next(self._po_counter):016d}"
            numbers.add(po_number)
            invoice_id = str(uuid.uuid4())
            if req.draft:
                status = "draft"
            elif req.invoice_date is not None and req.invoice_date > now:
                status = "scheduled"
            else:
                status = "unpaid"
            invoice = Invoice(
                id=invoice_id,
                client_id=account.client_id,
                merchant_id=account.merchant_id,
                request=req,
                status=status,
                created_at=now,
                expires_at=now + self.settings.invoice_lifetime,
                po_number=po_number,
                link=f"{public_base}/invoices/{invoice_id}",
                checkout_link=f"{public_base}/checkout/?invoice-id={invoice_id}",
                partial_accept_available=account.partial_accept_available,
                history=[("created", now), (status, now)],
            )
            self.invoices[invoice_id] = invoice
            self.index.add(invoice)
            self._schedule(invoice, invoice.expires_at)
            if status == "scheduled" and req.invoice_date is not None:
                self._schedule(invoice, req.invoice_date)
            if req.payment is not None:
                self._new_payment(invoice, req.payment.refund_email, now)
            self._emit(invoice, ev.INVOICE_CREATED)
            if req.payment is not None and req.payment.payment_currency is not None:
                self._wallet(invoice, req.payment.payment_currency, now)
            return invoice

    def _new_payment(self, invoice: Invoice, refund_email: str, now: datetime) -> Payment:
        payment = Payment(str(uuid.uuid4()), now, now + self.settings.payment_window, refund_email)
        invoice.payment = payment
        self._schedule(invoice, payment.expires_at)
        return payment

    def _wallet(self, invoice: Invoice, coin: Currency, now: datetime) -> HotWallet:
        payment = invoice.payment
        assert payment is not None
        wallet = payment.wallets.get(coin.id)
        if wallet is None:
            wallet = HotWallet(
                id=str(uuid.uuid4()),
                currency=coin,
                address=new_address(coin),
                expected=self.book.convert_due(invoice.total, invoice.currency, coin),
                rate=self.book.rate(invoice.currency, coin),
                required_confirmations=coin.required_confirmations,
                created_at=now,
                fee_rate=self.settings.merchant_fee_rate,
                network_fee=coin.network_fee,
            )
            payment.wallets[coin.id] = wallet
            self._emit(invoice, ev.PAYMENT_CREATED)
        return wallet

    def find(self, invoice_id: str) -> Invoice:
        with self.lock:
            self.tick()
            invoice = self.invoices.get(invoice_id)
            if invoice is None:
                raise not_found("Invoice not found")
            return invoice

    def invoice_for(self, account: ClientAccount, invoice_id: str) -> Invoice:
        invoice = self.find(invoice_id)
        if invoice.merchant_id != account.merchant_id:
            raise not_found("Invoice not found")
        return invoice

    def list_invoices(
        self,
        account: ClientAccount,
        *,
        q: str | None = None,
        status: str | None = None,
        after: str | None = None,
        limit: int = 100,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> tuple[list[Invoice], str | None]:
        """Newest first; `after` is the id of the last invoice of the previous page (listing.py)."""
        with self.lock:
            self.tick()
            needle = q.lower() if q else None
            return self.index.page(
                account.merchant_id,
                status=status,
                after=after,
                limit=limit,
                created_from=created_from,
                created_to=created_to,
                matches=None if needle is None else lambda invoice: _matches(invoice, needle),
            )

    def cancel(self, invoice: Invoice) -> None:
        with self.lock:
            self.tick()
            now = self.clock.now()
            if invoice.status not in ("draft", "scheduled", "unpaid"):
                raise bad_request("Status", f"An invoice in status '{invoice.status}' cannot be cancelled.")
            if invoice.payment is not None and invoice.payment.has_funds:
                raise bad_request("Status", "A payment was already detected; the invoice cannot be cancelled.")
            invoice.cancelled_at = now
            if invoice.payment is not None:
                invoice.payment.cancelled_at = now
                invoice.payment.state = "created"
            self._set_status(invoice, "cancelled", now)

    def create_payment(self, invoice: Invoice, refund_email: str) -> Payment:
        with self.lock:
            self.tick()
            self._require_payable(invoice)
            if invoice.payment is not None:
                raise bad_request("Payment", "The invoice already has a payment.")
            return self._new_payment(invoice, refund_email, self.clock.now())

    def payment_address(self, invoice: Invoice, coin: Currency) -> HotWallet:
        """The hot wallet for `coin`, created on the first call while the payment window is open."""
        with self.lock:
            self.tick()
            payment = invoice.payment
            if payment is None:
                raise bad_request("Payment", "The invoice has no payment; create it with payment.refundEmail.")
            existing = payment.wallets.get(coin.id)
            if existing is not None:
                return existing
            self._require_payable(invoice)
            if not coin.payable:
                raise bad_request("Currency", f"Currency {coin.symbol} is not available for payment.")
            return self._wallet(invoice, coin, self.clock.now())

    def _require_payable(self, invoice: Invoice) -> None:
        if invoice.status not in ("unpaid", "pending"):
            raise bad_request("Status", f"The invoice is {invoice.status} and accepts no payment.")

    # --- what a buyer and the chain do (control endpoints) -------------------------------

    def pay(self, invoice: Invoice, coin_id: str | None, amount: str, confirmations: int) -> Transfer:
        with self.lock:
            self.tick()
            now = self.clock.now()
            if invoice.status in ("draft", "scheduled", "deleted"):
                raise bad_request("Status", f"A {invoice.status} invoice accepts no payment.")
            payment = invoice.payment
            if payment is None:
                self._require_payable(invoice)
                email = (invoice.request.buyer or {}).get("emailAddress") or "buyer@example.com"
                payment = self._new_payment(invoice, email, now)
            wallet = self._pick_wallet(invoice, payment, coin_id, now)
            value = self._amount(wallet, amount)
            late = invoice.status in ("cancelled", "timedOut") or (
                payment.expires_at <= now and invoice.status == "unpaid"
            )
            transfer = Transfer(
                id=f"{wallet.currency.symbol.lower()}-{len(wallet.transfers) + 1}",
                currency_id=wallet.currency.id,
                txid=secrets.token_hex(32),
                amount=value,
                confirmations=0,
                detected_at=now,
                late=late,
            )
            wallet.transfers.append(transfer)
            if late:
                payment.state = "cancelledWaitingRefund" if invoice.status == "cancelled" else "timedOutWaitingRefund"
                return transfer
            self._evaluate(invoice, now, changed=False)
            for _ in range(confirmations):
                self._add_confirmation(invoice, [transfer], now)
            return transfer

    def confirm(self, invoice: Invoice, blocks: int = 1) -> int:
        """Mine `blocks` blocks: each adds one confirmation to every transfer still waiting for one."""
        with self.lock:
            self.tick()
            now = self.clock.now()
            payment = invoice.payment
            if payment is None:
                raise bad_request("Payment", "The invoice has no payment.")
            moved = 0
            for _ in range(blocks):
                waiting = [
                    t
                    for w in payment.wallets.values()
                    for t in w.transfers
                    if not t.late and t.confirmations < w.required_confirmations
                ]
                if not waiting:
                    break
                self._add_confirmation(invoice, waiting, now)
                moved += 1
            return moved

    def _add_confirmation(self, invoice: Invoice, transfers: list[Transfer], now: datetime) -> None:
        assert invoice.payment is not None
        for t in transfers:
            t.confirmations += 1
            wallet = invoice.payment.wallets[t.currency_id]
            if t.confirmations >= wallet.required_confirmations and t.confirmed_at is None:
                t.confirmed_at = now
        self._evaluate(invoice, now, changed=True)

    def _pick_wallet(self, invoice: Invoice, payment: Payment, coin_id: str | None, now: datetime) -> HotWallet:
        if coin_id is None:
            if len(payment.wallets) == 1:
                return next(iter(payment.wallets.values()))
            raise bad_request("Currency", "Say which coin the buyer pays with (`currency`).")
        wallet = payment.wallets.get(coin_id)
        if wallet is not None:
            return wallet
        coin = self.book.find(coin_id)
        if coin is None or not coin.payable:
            raise bad_request("Currency", f"Currency {coin_id!r} is not a payable coin.")
        self._require_payable(invoice)
        return self._wallet(invoice, coin, now)

    @staticmethod
    def _amount(wallet: HotWallet, spec: str) -> Decimal:
        quantum = Decimal(1).scaleb(-wallet.currency.decimal_places)
        match = _AMOUNT_SPEC.fullmatch(spec.strip().lower())
        if match:
            kind, fraction_text = match.groups()
            fraction = Decimal(fraction_text or ("0.5" if kind == "partial" else "0"))
            if kind == "full":
                value = wallet.remaining
            elif kind == "partial":
                if not 0 < fraction < 1:
                    raise bad_request("Amount", "partial:<fraction> takes a fraction between 0 and 1.")
                value = (wallet.expected * fraction).quantize(quantum, rounding=ROUND_DOWN)
            else:
                if fraction <= 0:
                    raise bad_request("Amount", "over:<fraction> takes a positive fraction, e.g. over:0.1.")
                value = wallet.remaining + (wallet.expected * fraction).quantize(quantum, rounding=ROUND_DOWN)
        else:
            try:
                value = Decimal(spec)
            except InvalidOperation:
                raise bad_request("Amount", f"Not an amount: {spec!r}.") from None
            if not value.is_finite() or value != value.quantize(quantum):
                raise bad_request("Amount", f"{wallet.currency.symbol} has {wallet.currency.decimal_places} decimals.")
        if value <= 0:
            raise bad_request("Amount", "Nothing left to pay; give an explicit amount.")
        return value

    def complete(self, invoice: Invoice) -> None:
        with self.lock:
            if invoice.status != "paid":
                raise bad_request("Status", f"Only a paid invoice completes (it is {invoice.status}).")
            self._complete(invoice, self.clock.now())

    def publish(self, invoice: Invoice) -> None:
        with self.lock:
            if invoice.status not in ("draft", "scheduled"):
                raise bad_request("Status", f"Only a draft or scheduled invoice can be published ({invoice.status}).")
            self._set_status(invoice, "unpaid", self.clock.now())

    def delete(self, invoice: Invoice) -> None:
        with self.lock:
            if invoice.status not in ("draft", "scheduled", "unpaid", "cancelled", "timedOut"):
                raise bad_request("Status", f"An invoice in status '{invoice.status}' cannot be deleted.")
            if invoice.status == "unpaid" and invoice.payment is not None and invoice.payment.has_funds:
                raise bad_request("Status", "A payment was detected; the invoice cannot be deleted.")
            invoice.deleted_at = self.clock.now()
            self._set_status(invoice, "deleted", invoice.deleted_at)

    def refund(self, invoice: Invoice) -> str:
        """Process a waiting refund (late, cancelled or timed-out funds)."""
        with self.lock:
            payment = invoice.payment
            states = {
                "timedOutWaitingRefund": "timedOutRefundProcessed",
                "cancelledWaitingRefund": "cancelledRefundProcessed",
            }
            if payment is None or payment.state not in states:
                raise bad_request("Payment", "No refund is waiting for this invoice.")
            payment.state = states[payment.state]
            payment.refunded_at = self.clock.now()
            return payment.state

    def raise_if_unknown_status(self, status: str | None) -> None:
        from saleor_coinpayments.simulator.domain import INVOICE_STATUSES

        if status is not None and status.lower() not in {s.lower() for s in INVOICE_STATUSES}:
            raise Problem(400, f"Unknown status {status!r}.", {"Status": [f"The value '{status}' is not valid."]})


def _matches(invoice: Invoice, needle: str) -> bool:
    req = invoice.request
    fields = [invoice.id, req.invoice_id, req.description, invoice.po_number, (req.buyer or {}).get("emailAddress")]
    return any(needle in f.lower() for f in fields if isinstance(f, str))
