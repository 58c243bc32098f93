"""The store on a real migrated database (SQLite or PostgreSQL, per TEST_DATABASE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import select, text

from saleor_coinpayments.payments.delivery.outbox import OutboxRepository
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.crypto import SecretBox, SecretBoxError, resolve_secret_key
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import OutboxMessage, Payment
from saleor_coinpayments.store.types import utcnow

BOX = SecretBox("test-secret-key")
JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def test_secret_box_round_trip_and_wrong_key() -> None:
    token = BOX.encrypt("app-token-123")
    assert "app-token-123" not in token
    assert BOX.decrypt(token) == "app-token-123"
    with pytest.raises(SecretBoxError):
        SecretBox("another-key").decrypt(token)


def test_secret_key_is_generated_once_and_kept(tmp_path: object) -> None:
    from pathlib import Path

    data = Path(str(tmp_path)) / "data"
    first = resolve_secret_key("", data)
    assert first
    assert (data / "secret_key").exists()
    assert resolve_secret_key("", data) == first
    assert resolve_secret_key("configured", data) == "configured"


async def _installation(db: Database, url: str = "https://shop.test/graphql/") -> str:
    async with db.session() as session:
        record = await InstallationRepository(session, BOX).save(url, "QXBwOjE=", "tok-1", JWKS)
    return record.id


@pytest.mark.asyncio
async def test_reinstall_overwrites_and_token_is_encrypted_at_rest(db: Database) -> None:
    await _installation(db)
    async with db.session() as session:
        repo = InstallationRepository(session, BOX)
        again = await repo.save("https://shop.test/graphql/", "QXBwOjI=", "tok-2", JWKS)
        assert again.app_id == "QXBwOjI="
        assert again.app_token == "tok-2"
    async with db.session() as session:
        raw = (await session.execute(text("SELECT app_token_encrypted, app_id FROM installations"))).all()
    assert len(raw) == 1
    assert "tok-2" not in raw[0][0]
    assert raw[0][1] == "QXBwOjI="
    assert "tok-2" not in repr(again)


async def _payment(db: Database, installation_id: str, transaction_id: str = "VHJhbnNhY3Rpb246MQ==") -> Payment:
    async with db.session() as session:
        config = await ConfigurationRepository(session, BOX).upsert(
            installation_id, "main", client_id="a" * 32, client_secret="s3cret-value", api_url="http://sim"
        )
        payment = Payment(
            installation_id=installation_id,
            configuration_id=config.id,
            saleor_transaction_id=transaction_id,
            source_type="checkout",
            source_id="Q2hlY2tvdXQ6MQ==",
            channel_slug="default-channel",
            our_invoice_ref=f"ref-{transaction_id}",
            invoice_id=f"inv-{transaction_id}",
            currency="USD",
            amount=Decimal("20.00"),
            next_check_at=utcnow(),
            read_by=utcnow(),
        )
        assert await PaymentRepository(session).add_if_absent(payment)
    return payment


@pytest.mark.asyncio
async def test_a_transaction_is_claimed_once(db: Database) -> None:
    installation_id = await _installation(db)
    first = await _payment(db, installation_id)
    async with db.session() as session:
        duplicate = Payment(
            installation_id=installation_id,
            configuration_id=first.configuration_id,
            saleor_transaction_id=first.saleor_transaction_id,
            source_type="checkout",
            source_id="x",
            channel_slug="c",
            our_invoice_ref="other-ref",
            currency="USD",
            amount=Decimal("1"),
        )
        assert not await PaymentRepository(session).add_if_absent(duplicate)
    async with db.session() as session:
        rows = (await session.execute(select(Payment))).scalars().all()
    assert len(rows) == 1
    assert rows[0].amount == Decimal("20.00")


@pytest.mark.asyncio
async def test_outbox_makes_each_report_once(db: Database) -> None:
    installation_id = await _installation(db)
    payment = await _payment(db, installation_id)
    async with db.session() as session:
        outbox = OutboxRepository(session)
        added = [
            await outbox.enqueue(
                installation_id=installation_id,
                payment_id=payment.id,
                dedup_key=f"{payment.id}:info:detected",
                kind="transaction_event_report",
                payload={"type": "INFO", "n": n},
            )
            for n in range(3)
        ]
    assert added == [True, False, False]
    async with db.session() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert [row.payload["n"] for row in rows] == [0]


@pytest.mark.asyncio
async def test_concurrent_reconciler_claims_never_overlap(db: Database) -> None:
    installation_id = await _installation(db)
    for n in range(6):
        await _payment(db, installation_id, transaction_id=f"tx-{n}")

    async def claim() -> list[str]:
        async with db.session() as session:
            return await PaymentRepository(session).claim_due(4, lease=timedelta(minutes=1), now=utcnow())

    first, second = await asyncio.gather(claim(), claim())
    assert not set(first) & set(second)
    assert len(first) + len(second) == 6
    async with db.session() as session:
        assert await PaymentRepository(session).claim_due(10, lease=timedelta(minutes=1)) == []


@pytest.mark.asyncio
async def test_configuration_secret_is_write_only_and_masked(db: Database) -> None:
    installation_id = await _installation(db)
    async with db.session() as session:
        repo = ConfigurationRepository(session, BOX)
        created = await repo.upsert(
            installation_id, "main", client_id="b" * 32, client_secret="very-secret-1234", api_url="http://sim"
        )
        kept = await repo.upsert(installation_id, "main", client_id="b" * 32, client_secret=None, api_url="http://x")
        await repo.map_channel(installation_id, "default-channel", created.id)
    assert kept.client_secret == "very-secret-1234"
    assert kept.masked_secret == "••••1234"
    assert "very-secret" not in repr(kept)
    async with db.session() as session:
        found = await ConfigurationRepository(session, BOX).for_channel(installation_id, "default-channel")
        raw = (await session.execute(text("SELECT client_secret_encrypted FROM configurations"))).scalar_one()
    assert found is not None
    assert found.channels == ["default-channel"]
    assert found.api_url == "http://x"
    assert "very-secret" not in raw
