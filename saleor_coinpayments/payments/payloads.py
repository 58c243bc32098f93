"""Typed views of the Saleor webhook bodies the use cases need (numbers already Decimal)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from saleor_coinpayments.money import Money, MoneyError


class PayloadError(ValueError):
    """The body does not carry what this event must carry."""


def _dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{name} missing or not an object")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{name} missing or not a string")
    return value


def channel_slug_of(source: dict[str, Any] | None) -> str | None:
    if not source:
        return None
    channel = source.get("channel")
    slug = channel.get("slug") if isinstance(channel, dict) else None
    return slug if isinstance(slug, str) and slug else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def channel_name_of(source: dict[str, Any]) -> str | None:
    """The channel's name as Saleor shows it (`checkout { channel { name } }`)."""
    channel = source.get("channel")
    return _text(channel.get("name")) if isinstance(channel, dict) else None


def language_code_of(source: dict[str, Any]) -> str | None:
    """The buyer's language: `Checkout.languageCode`, `Order.languageCodeEnum` (`DE`, `PT_BR`)."""
    return _text(source.get("languageCode")) or _text(source.get("languageCodeEnum"))


@dataclass(frozen=True)
class GatewayInitialize:
    source: dict[str, Any] | None
    channel_slug: str | None
    data: Any


@dataclass(frozen=True)
class TransactionSession:
    """TRANSACTION_INITIALIZE_SESSION and TRANSACTION_PROCESS_SESSION."""

    transaction_id: str
    psp_reference: str
    action_type: str
    amount: Money
    data: Any
    idempotency_key: str | None
    source: dict[str, Any]
    source_type: str
    source_id: str
    channel_slug: str
    channel_name: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class ActionRequest:
    """TRANSACTION_CHARGE/REFUND/CANCELATION_REQUESTED."""

    transaction_id: str
    psp_reference: str
    action_type: str
    amount: Decimal | None
    currency: str | None


def parse_gateway_initialize(payload: dict[str, Any]) -> GatewayInitialize:
    source = payload.get("sourceObject")
    source = source if isinstance(source, dict) else None
    return GatewayInitialize(source=source, channel_slug=channel_slug_of(source), data=payload.get("data"))


def parse_transaction_session(payload: dict[str, Any]) -> TransactionSession:
    transaction = _dict(payload.get("transaction"), "transaction")
    action = _dict(payload.get("action"), "action")
    source = _dict(payload.get("sourceObject"), "sourceObject")
    source_type = _str(source.get("__typename"), "sourceObject.__typename")
    if source_type not in ("Checkout", "Order"):
        raise PayloadError(f"unsupported source object {source_type}")
    channel = channel_slug_of(source)
    if channel is None:
        raise PayloadError("sourceObject.channel.slug missing")
    try:
        amount = Money.of(action.get("amount"), _str(action.get("currency"), "action.currency"))
    except MoneyError as exc:
        raise PayloadError(f"action.amount: {exc}") from None
    if amount.amount < 0:
        raise PayloadError("action.amount is negative")
    key = payload.get("idempotencyKey")
    return TransactionSession(
        transaction_id=_str(transaction.get("id"), "transaction.id"),
        psp_reference=str(transaction.get("pspReference") or ""),
        action_type=str(action.get("actionType") or "CHARGE"),
        amount=amount,
        data=payload.get("data"),
        idempotency_key=key if isinstance(key, str) and key else None,
        source=source,
        source_type=source_type.lower(),
        source_id=_str(source.get("id"), "sourceObject.id"),
        channel_slug=channel,
        channel_name=channel_name_of(source),
        language_code=language_code_of(source),
    )


def parse_action_request(payload: dict[str, Any]) -> ActionRequest:
    transaction = _dict(payload.get("transaction"), "transaction")
    raw_action = payload.get("action")
    action: dict[str, Any] = raw_action if isinstance(raw_action, dict) else {}
    raw_amount = action.get("amount")
    amount: Decimal | None = None
    if raw_amount is not None:
        try:
            amount = Money.of(raw_amount, str(action.get("currency") or "USD")).amount
        except MoneyError as exc:
            raise PayloadError(f"action.amount: {exc}") from None
    return ActionRequest(
        transaction_id=_str(transaction.get("id"), "transaction.id"),
        psp_reference=str(transaction.get("pspReference") or ""),
        action_type=str(action.get("actionType") or ""),
        amount=amount,
        currency=action.get("currency") if isinstance(action.get("currency"), str) else None,
    )
