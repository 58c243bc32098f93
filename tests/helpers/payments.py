"""A stored payment with every kind of column filled, for tests of the store's own reads and writes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import Payment, new_id
from saleor_coinpayments.store.types import utcnow

BOX = SecretBox("test-secret-key")


async def stored_payment(db: Database) -> Payment:
    """A payment with every kind of column filled: text, decimals, JSON, booleans, aware datetimes."""
    async with db.session() as session:
        installation = await InstallationRepository(session, BOX).save(
            f"https://{new_id()}.test/graphql/", "QXBwOjE=", "tok", {"keys": []}
        )
        config = await ConfigurationRepository(session, BOX).upsert(
            installation.id, "main", client_id="c", client_secret="s", api_url="http://cp.test"
        )
        now = utcnow()
        payment = Payment(
            installation_id=installation.id,
            configuration_id=config.id,
            saleor_transaction_id=f"tx-{new_id()}",
            source_type="checkout",
            source_id="checkout-1",
            channel_slug="default",
            our_invoice_ref=f"ref-{new_id()}",
            invoice_id=f"inv-{new_id()}",
            currency="USD",
            amount=Decimal("12.345"),
            credited_amount=Decimal("0.1"),
            is_final=False,
            pending_reported=True,
            details={"credits": [{"psp_reference": "p", "amount": "1.10"}], "nested": {"a": [1, None]}},
            last_checked_at=now,
            next_check_at=now + timedelta(seconds=30),
            read_by=now + timedelta(seconds=30),
            changed_at=now - timedelta(minutes=5),
            watching_until=now + timedelta(seconds=20),
            coin_amount=Decimal("0.00012345"),
            coin_status={"status": "seen"},
            pay_token_hash="a" * 64,
        )
        session.add(payment)
    return payment
