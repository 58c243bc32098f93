"""The fake Saleor's GraphQL API: the project's schema subset, executed against the model.

Every document is validated against the subset of the fake's Saleor line first
(`saleor/schema/subset.graphql`, or `subset-3.20.graphql` when it behaves like 3.20): an app
document using anything outside it is refused, as Saleor refuses unknown fields. Permission checks
and mutation semantics are Saleor 3.23's where captures/README.md verified them (B1–B9).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.language import ast

from saleor_coinpayments.saleor.schema import NEWEST_LINE, subset_sdl
from tests.fakes.saleor_model import (
    ZERO,
    App,
    Channel,
    Checkout,
    Invoice,
    Model,
    MoneyValue,
    Order,
    OrderDiscountNode,
    OrderEvent,
    OrderLineNode,
    TransactionEvent,
    TransactionItem,
    round_money,
)

MESSAGE_LIMIT = 512
AMOUNT_REQUIRED_TYPES = {
    "AUTHORIZATION_REQUEST",
    "AUTHORIZATION_SUCCESS",
    "AUTHORIZATION_ACTION_REQUIRED",
    "AUTHORIZATION_ADJUSTMENT",
    "CHARGE_REQUEST",
    "CHARGE_SUCCESS",
    "CHARGE_ACTION_REQUIRED",
    "REFUND_REQUEST",
    "REFUND_SUCCESS",
    "CANCEL_REQUEST",
    "CANCEL_SUCCESS",
}
NEVER_DEDUPLICATED = {"AUTHORIZATION_ACTION_REQUIRED", "CHARGE_ACTION_REQUIRED", "INFO"}
DIFFERENT_AMOUNT = "The transaction with provided `pspReference` and `type` already exists with different amount."


class PermissionDenied(GraphQLError):
    def __init__(self, *permissions: str) -> None:
        super().__init__(
            "To access this path, you need one of the following permissions: " + ", ".join(permissions),
            extensions={"exception": {"code": "PermissionDenied"}},
        )


def truncate_message(message: str | None) -> str:
    """Saleor keeps 512 characters; longer text ends with "…" (B4)."""
    text = message or ""
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def failed_type_for(event_type: str) -> str:
    kind = event_type.split("_")[0]
    if event_type in {"CHARGE_BACK"}:
        return "CHARGE_FAILURE"
    if event_type == "REFUND_REVERSE":
        return "REFUND_FAILURE"
    if event_type == "AUTHORIZATION_ADJUSTMENT":
        return "AUTHORIZATION_FAILURE"
    if kind in {"AUTHORIZATION", "CHARGE", "REFUND", "CANCEL"}:
        return f"{kind}_FAILURE"
    return event_type


# --- scalars --------------------------------------------------------------------------------


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise GraphQLError(f"Unsupported value: {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise GraphQLError(f"Unsupported value: {value!r}") from exc
    if not result.is_finite():
        raise GraphQLError(f"Unsupported value: {value!r}")
    return result


def _parse_positive_decimal(value: Any) -> Decimal:
    result = _parse_decimal(value)
    if result < 0:
        raise GraphQLError(f"Value cannot be lower than 0. Unsupported value: {value}")
    return result


def _literal(parse_value: Callable[[Any], Any]) -> Callable[..., Any]:
    def parse_literal(node: ast.ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, ast.IntValueNode | ast.FloatValueNode | ast.StringValueNode):
            return parse_value(node.value)
        raise GraphQLError("Unsupported literal")

    return parse_literal


def _serialize_decimal(value: Any) -> float:
    return float(value)


def _serialize_datetime(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _parse_datetime(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"Invalid datetime: {value!r}") from exc


def _parse_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise GraphQLError(f"Invalid UUID: {value!r}") from exc


def _set_scalar(schema: GraphQLSchema, name: str, **hooks: Any) -> None:
    scalar = schema.type_map.get(name)
    if isinstance(scalar, GraphQLScalarType):
        # graphql-core 3.2 calls serialize/parse_value, 3.3 their coerce_* successors
        aliases = {"serialize": "coerce_output_value", "parse_value": "coerce_input_value"}
        for attr, fn in hooks.items():
            setattr(scalar, attr, fn)
            if attr in aliases and hasattr(scalar, aliases[attr]):
                setattr(scalar, aliases[attr], fn)


def build_fake_schema(line: str = NEWEST_LINE) -> GraphQLSchema:
    """The executable schema of one Saleor line (`3.20` or `newest`)."""
    schema = build_schema(subset_sdl(line))
    _set_scalar(
        schema,
        "PositiveDecimal",
        serialize=_serialize_decimal,
        parse_value=_parse_positive_decimal,
        parse_literal=_literal(_parse_positive_decimal),
    )
    _set_scalar(
        schema,
        "DateTime",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
        parse_literal=_literal(_parse_datetime),
    )
    _set_scalar(schema, "UUID", serialize=str, parse_value=_parse_uuid, parse_literal=_literal(_parse_uuid))
    return schema


# --- resolvers ------------------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


Resolver = Callable[..., Any]
RESOLVERS: dict[tuple[str, str], Resolver] = {}


def resolver(type_name: str, field_name: str) -> Callable[[Resolver], Resolver]:
    def register(fn: Resolver) -> Resolver:
        RESOLVERS[(type_name, field_name)] = fn
        return fn

    return register


def requester(info: GraphQLResolveInfo) -> App | None:
    app: App | None = info.context["app"]
    return app


def model_of(info: GraphQLResolveInfo) -> Model:
    model: Model = info.context["model"]
    return model


def require_any(info: GraphQLResolveInfo, *permissions: str) -> App:
    app = requester(info)
    if app is None or not (app.permissions & set(permissions)):
        raise PermissionDenied(*permissions)
    return app


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    custom = RESOLVERS.get((info.parent_type.name, info.field_name))
    if custom is not None:
        return custom(source, info, **args)
    if isinstance(source, dict):
        return source.get(info.field_name)
    return getattr(source, snake(info.field_name), None)


def type_resolver(value: Any, _info: GraphQLResolveInfo, _abstract: Any) -> str:
    if isinstance(value, dict):
        return str(value["__typename"])
    return str(value.TYPENAME)


@resolver("Money", "amount")
def _money_amount(source: MoneyValue, _info: GraphQLResolveInfo) -> float:
    return float(round_money(source.amount, source.currency))


for _field, _key in {
    "authorizedAmount": "authorized",
    "authorizePendingAmount": "authorize_pending",
    "chargedAmount": "charged",
    "chargePendingAmount": "charge_pending",
    "refundedAmount": "refunded",
    "refundPendingAmount": "refund_pending",
    "canceledAmount": "canceled",
    "cancelPendingAmount": "cancel_pending",
}.items():
    RESOLVERS[("TransactionItem", _field)] = lambda source, _info, _key=_key: source.money(_key)


@resolver("OrderDiscount", "amount")
def _order_discount_amount(source: OrderDiscountNode, _info: GraphQLResolveInfo) -> MoneyValue:
    # the one form 3.20 has; later lines keep it (deprecated) and resolve `total` to the same value
    return source.total


@resolver("TransactionItem", "events")
def _transaction_events(source: TransactionItem, _info: GraphQLResolveInfo) -> list[TransactionEvent]:
    # newest first, as Saleor lists them (a request event answered by REQUEST takes the answer's time)
    return sorted(source.events, key=lambda e: (e.created_at, e.pk), reverse=True)


@resolver("TransactionItem", "createdBy")
def _transaction_created_by(source: TransactionItem, _info: GraphQLResolveInfo) -> App | None:
    return source.app


@resolver("Checkout", "transactions")
def _checkout_transactions(source: Checkout, info: GraphQLResolveInfo) -> list[TransactionItem]:
    require_any(info, "MANAGE_CHECKOUTS", "HANDLE_PAYMENTS")
    return source.transactions


@resolver("Order", "transactions")
def _order_transactions(source: Order, info: GraphQLResolveInfo) -> list[TransactionItem]:
    require_any(info, "MANAGE_ORDERS", "HANDLE_PAYMENTS")
    return source.transactions


@resolver("Order", "events")
def _order_events(source: Order, info: GraphQLResolveInfo) -> list[OrderEvent]:
    require_any(info, "MANAGE_ORDERS")
    return source.events


@resolver("App", "webhooks")
def _app_webhooks(source: App, info: GraphQLResolveInfo) -> list[Any]:
    app = requester(info)
    if app is None or (app is not source and "MANAGE_APPS" not in app.permissions):
        raise PermissionDenied("MANAGE_APPS", "OWNER")
    return source.webhooks


@resolver("Webhook", "subscriptionQuery")
def _webhook_query(source: Any, _info: GraphQLResolveInfo) -> str:
    return str(source.query)


@resolver("Webhook", "syncEvents")
def _webhook_sync(source: Any, _info: GraphQLResolveInfo) -> list[dict[str, str]]:
    return [{"eventType": e} for e in source.sync_events]


@resolver("Webhook", "asyncEvents")
def _webhook_async(source: Any, _info: GraphQLResolveInfo) -> list[dict[str, str]]:
    return [{"eventType": e} for e in source.async_events]


@resolver("Query", "app")
def _query_app(_root: Any, info: GraphQLResolveInfo) -> App:
    app = requester(info)
    if app is None:
        raise PermissionDenied("AUTHENTICATED_STAFF_USER", "AUTHENTICATED_APP")
    return app


@resolver("Query", "channels")
def _query_channels(_root: Any, info: GraphQLResolveInfo) -> list[Channel]:
    if requester(info) is None:
        raise PermissionDenied("AUTHENTICATED_STAFF_USER", "AUTHENTICATED_APP")
    return list(model_of(info).channels.values())


@resolver("Query", "checkout")
def _query_checkout(_root: Any, info: GraphQLResolveInfo, id: str | None = None) -> Checkout | None:
    return model_of(info).node(id, "Checkout")  # type: ignore[no-any-return]


@resolver("Query", "order")
def _query_order(_root: Any, info: GraphQLResolveInfo, id: str | None = None) -> Order | None:
    return model_of(info).node(id, "Order")  # type: ignore[no-any-return]


@resolver("Query", "transaction")
def _query_transaction(_root: Any, info: GraphQLResolveInfo, id: str | None = None) -> TransactionItem | None:
    require_any(info, "HANDLE_PAYMENTS", "MANAGE_ORDERS")
    return model_of(info).node(id, "TransactionItem")  # type: ignore[no-any-return]


# --- mutations ------------------------------------------------------------------------------


def error(field: str | None, code: str, message: str) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}


def after_amounts_changed(transaction: TransactionItem) -> None:
    transaction.recalculate()


def deduplicate(transaction: TransactionItem, event_type: str, psp: str) -> TransactionEvent | None:
    """Saleor's get_already_existing_event: same transaction, pspReference and type."""
    if event_type in NEVER_DEDUPLICATED:
        return None
    for event in transaction.events:
        if event.type == event_type and event.psp_reference == psp:
            return event
    return None


def create_event_from_response(
    model: Model,
    transaction: TransactionItem,
    *,
    event_type: str,
    amount: Decimal,
    psp: str,
    app: App | None,
    message: str = "",
    external_url: str = "",
    created_at: datetime | None = None,
) -> tuple[TransactionEvent | None, str | None]:
    """A counted event, or the duplicate it repeats; an error text when the amounts differ."""
    amount = round_money(amount, transaction.currency)
    existing = deduplicate(transaction, event_type, psp)
    if existing is not None:
        if existing.amount_value != amount:
            return None, DIFFERENT_AMOUNT
        return existing, None
    if event_type == "AUTHORIZATION_SUCCESS" and any(e.type == event_type for e in transaction.events):
        return None, (
            "Event with `AUTHORIZATION_SUCCESS` already reported for the transaction. Use "
            "`AUTHORIZATION_ADJUSTMENT` to change the authorization amount."
        )
    event = model.add_event(
        transaction,
        event_type,
        amount,
        psp_reference=psp,
        message=truncate_message(message),
        external_url=external_url or "",
        include_in_calculations=True,
        app=app,
        created_at=created_at,
    )
    return event, None


def create_failed_event(
    model: Model, transaction: TransactionItem, *, event_type: str, amount: Decimal, psp: str, cause: str
) -> TransactionEvent:
    """Saleor's create_failed_transaction_event: recorded, never counted."""
    return model.add_event(
        transaction,
        failed_type_for(event_type),
        amount,
        psp_reference=psp,
        message=truncate_message(cause),
        include_in_calculations=False,
    )


def _earlier_amount(transaction: TransactionItem, psp: str, event_type: str) -> Decimal | None:
    kind = event_type.split("_")[0]
    related = {
        "CHARGE": ("CHARGE_SUCCESS", "CHARGE_REQUEST", "CHARGE_ACTION_REQUIRED", "AUTHORIZATION_SUCCESS"),
        "REFUND": ("REFUND_SUCCESS", "REFUND_REQUEST"),
        "CANCEL": ("CANCEL_SUCCESS", "CANCEL_REQUEST", "AUTHORIZATION_SUCCESS"),
        "AUTHORIZATION": ("AUTHORIZATION_SUCCESS", "AUTHORIZATION_REQUEST", "AUTHORIZATION_ACTION_REQUIRED"),
    }.get(kind, ())
    for event in reversed(transaction.events):
        if event.psp_reference == psp and event.type in related:
            return event.amount_value
    return None


@resolver("Mutation", "transactionEventReport")
def transaction_event_report(
    _root: Any,
    info: GraphQLResolveInfo,
    *,
    type: str,
    pspReference: str,
    id: str | None = None,
    amount: Decimal | None = None,
    time: datetime | None = None,
    externalUrl: str | None = None,
    message: str | None = None,
    availableActions: list[str] | None = None,
    paymentMethodDetails: dict[str, Any] | None = None,
    **_unused: Any,
) -> dict[str, Any]:
    model = model_of(info)
    app = requester(info)
    if app is None or "HANDLE_PAYMENTS" not in app.permissions:
        raise PermissionDenied("HANDLE_PAYMENTS")
    transaction: TransactionItem | None = model.node(id, "TransactionItem")
    if transaction is None:
        return _report_result(errors=[error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")])
    if transaction.app is not app:
        raise PermissionDenied("OWNER", "HANDLE_PAYMENTS")
    if amount is None:
        if type in AMOUNT_REQUIRED_TYPES:
            return _report_result(errors=[error("amount", "REQUIRED", "The `amount` field is required.")])
        amount = ZERO if type == "INFO" else _earlier_amount(transaction, pspReference, type)
        if amount is None:
            return _report_result(
                errors=[error("amount", "REQUIRED", "The `amount` field is required, no earlier event.")]
            )
    amount = round_money(amount, transaction.currency)
    details, details_problem = payment_method_details_of_input(paymentMethodDetails)
    if details_problem:
        return _report_result(errors=[error("paymentMethodDetails", "INVALID", details_problem)])
    count_before = len(transaction.events)
    event, problem = create_event_from_response(
        model,
        transaction,
        event_type=type,
        amount=amount,
        psp=pspReference,
        app=app,
        message=message or "",
        external_url=externalUrl or "",
        created_at=time,
    )
    if event is None:
        create_failed_event(model, transaction, event_type=type, amount=amount, psp=pspReference, cause=problem or "")
        return _report_result(errors=[error("pspReference", "INCORRECT_DETAILS", problem or "")])
    if len(transaction.events) == count_before:  # a duplicate: nothing new, nothing counted
        return _report_result(already_processed=True, transaction=transaction, event=event)
    if type in {"AUTHORIZATION_REQUEST", "AUTHORIZATION_SUCCESS", "CHARGE_REQUEST", "CHARGE_SUCCESS"}:
        if not transaction.psp_reference:
            transaction.psp_reference = pspReference
    if availableActions is not None:
        transaction.actions = sorted(set(availableActions))
    if details is not None:
        transaction.payment_method_details = details
    after_amounts_changed(transaction)
    return _report_result(already_processed=False, transaction=transaction, event=event)


PAYMENT_METHOD_NAME_LIMIT = 256
PAYMENT_METHOD_TYPE_LIMIT = 32


def payment_method_details_of_input(given: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """3.23's `PaymentMethodDetailsInput`: exactly one of card / other / giftCard, a name of at most
    256 characters; stored as the flat {"type", "name"} the transaction shows."""
    if given is None:
        return None, None
    chosen = {key: value for key, value in given.items() if value is not None}
    if len(chosen) != 1:
        return None, "Exactly one of `card`, `other` or `giftCard` is required."
    [(kind, value)] = chosen.items()
    name = value.get("name") if isinstance(value, dict) else None
    if not isinstance(name, str) or len(name) > PAYMENT_METHOD_NAME_LIMIT:
        return None, "The `name` of a payment method is required, at most 256 characters."
    return {"type": {"card": "CARD", "other": "OTHER", "giftCard": "GIFT_CARD"}[kind], "name": name}, None


def payment_method_details_of_answer(given: Any) -> tuple[dict[str, Any] | None, str | None]:
    """3.23's session-answer `paymentMethodDetails`: a flat object with a `type` discriminator."""
    if given is None:
        return None, None
    if not isinstance(given, dict) or given.get("type") not in {"OTHER", "CARD", "GIFT_CARD"}:
        return None, "Incorrect value for field: paymentMethodDetails. Error: invalid discriminator `type`."
    name = given.get("name")
    if not isinstance(name, str) or len(name) > PAYMENT_METHOD_NAME_LIMIT:
        return None, "Incorrect value for field: paymentMethodDetails.name. Error: at most 256 characters."
    return {"type": given["type"], "name": name}, None


def _report_result(
    *,
    errors: list[dict[str, Any]] | None = None,
    already_processed: bool | None = None,
    transaction: TransactionItem | None = None,
    event: TransactionEvent | None = None,
) -> dict[str, Any]:
    return {
        "alreadyProcessed": already_processed,
        "transaction": transaction,
        "transactionEvent": event,
        "errors": errors or [],
    }


TRANSACTION_NAME_LIMIT = 512


@resolver("Mutation", "transactionUpdate")
def transaction_update(
    _root: Any, info: GraphQLResolveInfo, *, id: str | None = None, transaction: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Only what the app sets (`name`); the owner rule of transactionEventReport applies."""
    app = require_any(info, "HANDLE_PAYMENTS")
    item: TransactionItem | None = model_of(info).node(id, "TransactionItem")
    if item is None:
        return {"transaction": None, "errors": [error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")]}
    if item.app is not app:
        raise PermissionDenied("OWNER", "HANDLE_PAYMENTS")
    name = (transaction or {}).get("name")
    if name is not None:
        if len(name) > TRANSACTION_NAME_LIMIT:
            return {
                "transaction": None,
                "errors": [error("name", "INVALID", "Ensure this value has at most 512 characters.")],
            }
        item.name = name
    return {"transaction": item, "errors": []}


@resolver("Mutation", "transactionCreate")
def transaction_create(
    _root: Any,
    info: GraphQLResolveInfo,
    *,
    id: str,
    transaction: dict[str, Any],
    transactionEvent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    app = require_any(info, "HANDLE_PAYMENTS")
    model = model_of(info)
    source = model.node(id, "Order", "Checkout")
    if source is None:
        return {
            "transaction": None,
            "errors": [error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")],
        }
    currency = source.currency
    for key in ("amountAuthorized", "amountCharged", "amountRefunded", "amountCanceled"):
        money = transaction.get(key)
        if money and money.get("currency") != currency:
            return {
                "transaction": None,
                "errors": [error(key, "INCORRECT_CURRENCY", "Currency needs to be the same as in the order.")],
            }
    url = transaction.get("externalUrl")
    item = TransactionItem(
        token=uuid.uuid4(),
        currency=currency,
        app=app,
        checkout=source if isinstance(source, Checkout) else None,
        order=source if isinstance(source, Order) else None,
        name=transaction.get("name") or "",
        message=truncate_message(transaction.get("message")),
        psp_reference=transaction.get("pspReference") or "",
        external_url=url or "",
        actions=sorted(set(transaction.get("availableActions") or [])),
        created_at=model.clock.now(),
    )
    adjustments = {
        "amountAuthorized": "AUTHORIZATION_SUCCESS",
        "amountCharged": "CHARGE_SUCCESS",
        "amountRefunded": "REFUND_SUCCESS",
        "amountCanceled": "CANCEL_SUCCESS",
    }
    for key, event_type in adjustments.items():
        money = transaction.get(key)
        if money and Decimal(str(money["amount"])) != 0:
            model.add_event(
                item,
                event_type,
                Decimal(str(money["amount"])),
                include_in_calculations=True,
                app=app,
                message="Manual adjustment of the transaction.",
            )
    if transactionEvent is not None:
        model.add_event(
            item,
            "INFO",
            ZERO,
            psp_reference=transactionEvent.get("pspReference") or "",
            message=truncate_message(transactionEvent.get("message")),
            app=app,
        )
    item.recalculate()
    model.transactions[item.id] = item
    source.transactions.append(item)
    return {"transaction": item, "errors": []}


@resolver("Mutation", "invoiceUpdate")
def invoice_update(_root: Any, info: GraphQLResolveInfo, *, id: str, input: dict[str, Any]) -> dict[str, Any]:
    require_any(info, "MANAGE_ORDERS")
    invoice: Invoice | None = model_of(info).node(id, "Invoice")
    if invoice is None:
        return {"invoice": None, "errors": [error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")]}
    number = input.get("number", invoice.number)
    url = input.get("url", invoice.url)
    if not number or not url:
        missing = [
            error("number", "NUMBER_NOT_SET", "Number need to be set after update operation.") if not number else None,
            error("url", "URL_NOT_SET", "URL need to be set after update operation.") if not url else None,
        ]
        return {"invoice": None, "errors": [m for m in missing if m]}
    invoice.number, invoice.url, invoice.status = number, url, "SUCCESS"
    return {"invoice": invoice, "errors": []}


@resolver("Mutation", "invoiceCreate")
def invoice_create(_root: Any, info: GraphQLResolveInfo, *, orderId: str, input: dict[str, Any]) -> dict[str, Any]:
    """A ready invoice (SUCCESS) with the given number and url, no webhook (B7); needs MANAGE_ORDERS."""
    require_any(info, "MANAGE_ORDERS")
    model = model_of(info)
    order: Order | None = model.node(orderId, "Order")
    if order is None:
        return {"invoice": None, "errors": [error("orderId", "NOT_FOUND", f"Couldn't resolve to a node: {orderId}")]}
    if order.status in ("DRAFT", "UNCONFIRMED"):
        return {"invoice": None, "errors": [error("orderId", "INVALID_STATUS", "Cannot create an invoice.")]}
    missing = [
        error(key, "REQUIRED", f"This field is required: {key}.") for key in ("number", "url") if not input.get(key)
    ]
    if missing:
        return {"invoice": None, "errors": missing}
    invoice = Invoice(pk=model.next_pk(), order=order, number=input["number"], url=input["url"], status="SUCCESS")
    order.invoices.append(invoice)
    model.invoices[invoice.id] = invoice
    return {"invoice": invoice, "errors": []}


@resolver("Mutation", "invoiceSendNotification")
def invoice_send_notification(_root: Any, info: GraphQLResolveInfo, *, id: str) -> dict[str, Any]:
    """Saleor e-mails the invoice to the buyer (B7): only a SUCCESS invoice with number and url."""
    require_any(info, "MANAGE_ORDERS")
    invoice: Invoice | None = model_of(info).node(id, "Invoice")
    if invoice is None:
        return {"invoice": None, "errors": [error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")]}
    problems = []
    if invoice.status != "SUCCESS":
        problems.append(error(None, "NOT_READY", "Provided invoice is not ready to be sent."))
    if not invoice.url:
        problems.append(error("url", "URL_NOT_SET", "Provided invoice needs to have an URL."))
    if not invoice.number:
        problems.append(error("number", "NUMBER_NOT_SET", "Provided invoice needs to have an invoice number."))
    if not invoice.order.user_email:
        problems.append(error("order", "EMAIL_NOT_SET", "Provided invoice order needs an email address."))
    if problems:
        return {"invoice": None, "errors": problems}
    invoice.sent_notifications += 1
    invoice.order.events.append(
        OrderEvent(
            pk=model_of(info).next_pk(),
            type="INVOICE_SENT",
            date=datetime.now(UTC),
            app=requester(info),
            email=invoice.order.user_email,
        )
    )
    return {"invoice": invoice, "errors": []}


_STATUS_FILTER = {
    "UNCONFIRMED": {"UNCONFIRMED"},
    "UNFULFILLED": {"UNFULFILLED"},
    "PARTIALLY_FULFILLED": {"PARTIALLY_FULFILLED"},
    "FULFILLED": {"FULFILLED"},
    "CANCELED": {"CANCELED"},
}


def _order_matches(order: Order, where: dict[str, Any]) -> bool:
    channels = where.get("channels")
    if channels is not None and order.channel.id not in channels:
        return False
    statuses = where.get("status")
    if statuses is not None:
        wanted = set().union(*(_STATUS_FILTER[s] for s in statuses)) if statuses else set()
        if order.status not in wanted:
            return False
    charge = where.get("chargeStatus")
    if charge is not None and order.charge_status not in charge:
        return False
    created = where.get("created") or {}
    day = order.created.date()
    if created.get("gte") and day < datetime.fromisoformat(str(created["gte"])).date():
        return False
    return not (created.get("lte") and day > datetime.fromisoformat(str(created["lte"])).date())


@resolver("Query", "orders")
def _query_orders(
    _root: Any,
    info: GraphQLResolveInfo,
    filter: dict[str, Any] | None = None,
    first: int | None = None,
    after: str | None = None,
    **unsupported: Any,
) -> dict[str, Any]:
    """`orders` (needs MANAGE_ORDERS), newest first as Saleor sorts by default, at most 100 a page."""
    require_any(info, "MANAGE_ORDERS")
    if unsupported:
        raise GraphQLError(f"the fake Saleor does not support orders({', '.join(unsupported)})")
    if filter and set(filter) - {"channels", "status", "chargeStatus", "created"}:
        raise GraphQLError(f"the fake Saleor does not support the filter {sorted(filter)}")
    if first is None or not 1 <= first <= 100:
        raise GraphQLError("You must provide a `first` value between 1 and 100.")
    for status in (filter or {}).get("status") or []:
        if status not in _STATUS_FILTER:
            raise GraphQLError(f"the fake Saleor does not filter by status {status}")
    matching = sorted(
        (o for o in model_of(info).orders.values() if _order_matches(o, filter or {})),
        key=lambda o: (o.created, o.number),
        reverse=True,
    )
    start = int(after) if after else 0
    page = matching[start : start + first]
    end = start + len(page)
    return {
        "edges": [{"node": order, "cursor": str(start + i + 1)} for i, order in enumerate(page)],
        "pageInfo": {"hasNextPage": end < len(matching), "endCursor": str(end) if page else None},
    }


@resolver("Mutation", "orderNoteAdd")
def order_note_add(_root: Any, info: GraphQLResolveInfo, *, order: str, input: dict[str, Any]) -> dict[str, Any]:
    """A NOTE_ADDED order event (needs MANAGE_ORDERS); Saleor refuses a blank message (REQUIRED)."""
    require_any(info, "MANAGE_ORDERS")
    found: Order | None = model_of(info).node(order, "Order")
    if found is None:
        return {"order": None, "errors": [error("order", "GRAPHQL_ERROR", f"Couldn't resolve to a node: {order}")]}
    message = str(input.get("message") or "").strip()
    if not message:
        return {"order": None, "errors": [error("message", "REQUIRED", "Message can't be empty.")]}
    found.notes.append(message)
    model = model_of(info)
    found.events.append(
        OrderEvent(pk=model.next_pk(), type="NOTE_ADDED", date=datetime.now(UTC), app=requester(info), message=message)
    )
    return {"order": found, "errors": []}


@resolver("Mutation", "checkoutComplete")
def checkout_complete(_root: Any, info: GraphQLResolveInfo, *, id: str | None = None, **_: Any) -> dict[str, Any]:
    model = model_of(info)
    checkout: Checkout | None = model.node(id, "Checkout")
    if checkout is None:
        return {
            "order": None,
            "confirmationNeeded": False,
            "errors": [error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")],
        }
    if checkout.authorize_status != "FULL" and not checkout.channel.allow_unpaid_orders:
        return {
            "order": None,
            "confirmationNeeded": False,
            "errors": [
                error(
                    "id",
                    "CHECKOUT_NOT_FULLY_PAID",
                    "The authorized amount doesn't cover the checkout's total amount.",
                )
            ],
        }
    return {"order": complete_checkout(model, checkout), "confirmationNeeded": False, "errors": []}


def complete_checkout(model: Model, checkout: Checkout) -> Order:
    discounts = []
    if checkout.discount_amount:
        discounts.append(OrderDiscountNode(model.next_pk(), checkout.discount_amount, checkout.currency))
    order = Order(
        token=uuid.uuid4(),
        number=model.next_order_number(),
        channel=checkout.channel,
        user_email=checkout.email,
        lines=[OrderLineNode(model.next_pk(), line.line, checkout.currency) for line in checkout.lines],
        shipping_gross=checkout.shipping_gross,
        shipping_net=checkout.shipping_net,
        discounts=discounts,
        billing_address=checkout.billing_address,
        user=checkout.user,
        transactions=list(checkout.transactions),
    )
    for transaction in order.transactions:
        transaction.order, transaction.checkout = order, None
    model.orders[order.id] = order
    del model.checkouts[checkout.id]
    return order


@resolver("Mutation", "webhookUpdate")
def webhook_update(
    _root: Any, info: GraphQLResolveInfo, *, input: dict[str, Any], id: str | None = None
) -> dict[str, Any]:
    app = requester(info)
    if app is None:
        raise PermissionDenied("MANAGE_APPS", "AUTHENTICATED_APP")
    webhook = model_of(info).node(id, "Webhook")
    if webhook is None or (webhook.app is not app and "MANAGE_APPS" not in app.permissions):
        return {"webhook": None, "errors": [error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")]}
    if "query" in input and input["query"] is not None:
        problems = validate_document(info.schema, input["query"])
        if problems:
            return {"webhook": None, "errors": [error("query", "SYNTAX", problems[0])]}
        webhook.query = input["query"]
    for key, attr in (("name", "name"), ("targetUrl", "target_url"), ("isActive", "is_active")):
        if input.get(key) is not None:
            setattr(webhook, attr, input[key])
    if input.get("syncEvents") is not None:
        webhook.sync_events = list(input["syncEvents"])
    if input.get("asyncEvents") is not None:
        webhook.async_events = list(input["asyncEvents"])
    return {"webhook": webhook, "errors": []}


# --- execution -----------------------------------------------------------------------------


def validate_document(schema: GraphQLSchema, text: str) -> list[str]:
    try:
        document = parse(text)
    except GraphQLError as exc:
        return [exc.message]
    return [e.message for e in validate(schema, document)]


def run(
    schema: GraphQLSchema,
    text: str,
    *,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: dict[str, Any],
    root: Any = None,
) -> tuple[ExecutionResult, bool]:
    """Parse, validate, execute. Returns the result and whether the request itself was invalid."""
    try:
        document = parse(text)
    except GraphQLError as exc:
        return ExecutionResult(data=None, errors=[exc]), True
    errors = validate(schema, document)
    if errors:
        return ExecutionResult(data=None, errors=list(errors)), True
    result = execute(
        schema,
        document,
        root_value=root,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        field_resolver=field_resolver,
        type_resolver=type_resolver,
    )
    if not isinstance(result, ExecutionResult):  # pragma: no cover - resolvers are synchronous
        raise TypeError("asynchronous execution is not supported by the fake")
    return result, False


def format_error(err: GraphQLError) -> dict[str, Any]:
    formatted = dict(err.formatted)
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("exception", {"code": "GraphQLError"})
    formatted["extensions"] = extensions
    return formatted
