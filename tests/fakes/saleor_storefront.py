"""The fake Saleor's public storefront API: what examples/storefront needs for a whole purchase.

`products`, `checkoutCreate`, `Checkout.shippingMethods`, `checkoutDeliveryMethodUpdate`, and the
payment mutations `paymentGatewayInitialize`, `transactionInitialize` and `transactionProcess` over
GraphQL (the latter three run the same code as the tests' Python calls, so the app sees the same
webhooks). No token is needed, as on a real Saleor. Strict where Saleor is: unknown channel or
variant, no e-mail, a quantity below one, an unknown delivery method, a missing address field.

The catalog is fixed: one product with one variant, and two shipping methods per channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from tests.fakes.saleor_api import error, model_of, resolver
from tests.fakes.saleor_model import Address, Checkout, Line, MoneyValue, global_id

VARIANT_PK = 1001
PRODUCT_NAME, VARIANT_NAME, SKU, PRICE = "T-shirt", "L", "TSHIRT-L", Decimal("20.00")


@dataclass(frozen=True)
class ShippingOption:
    pk: int
    name: str
    price: Decimal

    @property
    def id(self) -> str:
        return global_id("ShippingMethod", self.pk)


SHIPPING = (ShippingOption(2001, "Courier", Decimal("9.00")), ShippingOption(2002, "Post", Decimal("4.50")))
VARIANT_ID = global_id("ProductVariant", VARIANT_PK)
_ADDRESS_FIELDS = ("firstName", "lastName", "streetAddress1", "city", "postalCode", "country")


def _saleor(info: GraphQLResolveInfo) -> Any:
    return info.context["saleor"]


@resolver("Query", "products")
def products(_root: Any, info: GraphQLResolveInfo, *, channel: str | None = None, **_: Any) -> dict[str, Any]:
    if channel is None or channel not in model_of(info).channels:
        return {"edges": []}
    node = {"name": PRODUCT_NAME, "variants": [{"id": VARIANT_ID, "name": VARIANT_NAME}]}
    return {"edges": [{"node": node}]}


@resolver("Checkout", "shippingMethods")
def shipping_methods(source: Checkout, _info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    return [
        {"id": option.id, "name": option.name, "price": MoneyValue(option.price, source.currency)}
        for option in SHIPPING
    ]


def _address(value: Any, field: str) -> tuple[Address | None, dict[str, Any] | None]:
    if not isinstance(value, dict):
        return None, error(field, "REQUIRED", "This field is required.")
    missing = [name for name in _ADDRESS_FIELDS if not str(value.get(name) or "").strip()]
    if missing:
        return None, error(field, "REQUIRED", f"Missing address fields: {', '.join(missing)}.")
    return (
        Address(
            first_name=value["firstName"],
            last_name=value["lastName"],
            street_address1=value["streetAddress1"],
            city=str(value["city"]).upper(),
            postal_code=value["postalCode"],
            country_code=str(value["country"]).upper(),
        ),
        None,
    )


@resolver("Mutation", "checkoutCreate")
def checkout_create(_root: Any, info: GraphQLResolveInfo, *, input: dict[str, Any]) -> dict[str, Any]:
    saleor = _saleor(info)
    model = model_of(info)
    errors: list[dict[str, Any]] = []
    channel = model.channels.get(input.get("channel") or "")
    if channel is None:
        errors.append(error("channel", "NOT_FOUND", f"Channel with '{input.get('channel')}' slug does not exist."))
    email = str(input.get("email") or "")
    if "@" not in email:
        errors.append(error("email", "INVALID", "Enter a valid email address."))
    lines = input.get("lines") or []
    if not lines:
        errors.append(error("lines", "REQUIRED", "Provide at least one line."))
    for line in lines:
        if line.get("variantId") != VARIANT_ID:
            errors.append(error("variantId", "NOT_FOUND", f"Couldn't resolve to a node: {line.get('variantId')}"))
        elif int(line.get("quantity") or 0) < 1:
            errors.append(error("quantity", "ZERO_QUANTITY", "The quantity should be higher than zero."))
    _shipping, problem = _address(input.get("shippingAddress"), "shippingAddress")
    errors += [problem] if problem else []
    billing, problem = _address(input.get("billingAddress"), "billingAddress")
    errors += [problem] if problem else []
    if errors:
        return {"checkout": None, "errors": errors}
    assert channel is not None
    checkout = saleor.create_checkout(
        [Line(PRODUCT_NAME, VARIANT_NAME, SKU, int(line["quantity"]), PRICE) for line in lines],
        email=email,
        channel=channel.slug,
        billing_address=billing,
        language_code=str(input.get("languageCode") or "EN_US"),
    )
    return {"checkout": checkout, "errors": []}


@resolver("Mutation", "checkoutDeliveryMethodUpdate")
def delivery_method_update(
    _root: Any, info: GraphQLResolveInfo, *, id: str | None = None, deliveryMethodId: str | None = None, **_: Any
) -> dict[str, Any]:
    checkout: Checkout | None = model_of(info).node(id, "Checkout")
    if checkout is None:
        return {"checkout": None, "errors": [error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")]}
    option = next((o for o in SHIPPING if o.id == deliveryMethodId), None)
    if option is None:
        return {"checkout": None, "errors": [error("deliveryMethodId", "NOT_FOUND", "Delivery method not found.")]}
    checkout.shipping_gross = checkout.shipping_net = option.price
    return {"checkout": checkout, "errors": []}


@resolver("Mutation", "paymentGatewayInitialize")
def gateway_initialize(
    _root: Any, info: GraphQLResolveInfo, *, id: str, paymentGateways: list[dict[str, Any]] | None = None, **_: Any
) -> dict[str, Any]:
    if model_of(info).node(id, "Checkout", "Order") is None:
        return {"gatewayConfigs": [], "errors": [error("id", "NOT_FOUND", f"Couldn't resolve to a node: {id}")]}
    gateways = [g["id"] for g in paymentGateways or []] or None
    configs = _saleor(info).payment_gateway_initialize(id, gateways=gateways)
    return {"gatewayConfigs": [{"id": c.id, "data": c.data, "errors": c.errors} for c in configs], "errors": []}


def _session(result: Any) -> dict[str, Any]:
    return {
        "transaction": result.transaction if not result.errors else None,
        "transactionEvent": result.event,
        "data": result.data,
        "errors": result.errors,
    }


@resolver("Mutation", "transactionInitialize")
def transaction_initialize(
    _root: Any,
    info: GraphQLResolveInfo,
    *,
    id: str,
    paymentGateway: dict[str, Any],
    idempotencyKey: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    result = _saleor(info).transaction_initialize(
        id, gateway=paymentGateway["id"], data=paymentGateway.get("data"), idempotency_key=idempotencyKey
    )
    return _session(result)


@resolver("Mutation", "transactionProcess")
def transaction_process(
    _root: Any, info: GraphQLResolveInfo, *, id: str | None = None, data: Any = None, **_: Any
) -> dict[str, Any]:
    return _session(_saleor(info).transaction_process(id or "", data=data))
