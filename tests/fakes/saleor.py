"""A fake Saleor 3.23 for tests: signs webhooks, serves JWKS, answers GraphQL, keeps the books.

`FakeSaleor(version=SALEOR_3_20)` behaves like the oldest supported line instead: it executes
everything against the 3.20 schema subset, reports 3.20 in its headers and `version`, and
checks the manifest's `requiredSaleorVersion` against that version, as every line does.
`FAKE_SALEOR_VERSION=3.20.119` in the environment makes that the default of every fake (so the
whole suite can run against 3.20).

Usage::

    with FakeSaleor.serve() as saleor:                      # real HTTP on loopback
        app = saleor.install_app(f"{app_url}/api/manifest")  # manifest fetch + register (§2.2)
        checkout = saleor.create_checkout()
        result = saleor.transaction_initialize(checkout.id, gateway=app.identifier)
        assert result.event.type == "CHARGE_ACTION_REQUIRED"

It only talks HTTP to the app. Webhook bodies come from executing the app's own
subscription query (from its manifest) against the model, are serialised and signed the
way Saleor does it (detached JWS over the raw bytes), and the app's answer is applied with
Saleor's rules (PROTOCOL.md §4–§6, captures/README.md "Verified behaviours").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse
from graphql.language import FieldNode, InlineFragmentNode
from pydantic import HttpUrl, TypeAdapter, ValidationError

from saleor_coinpayments.saleor.schema import schema_line_of
from tests.fakes import saleor_api, saleor_storefront  # noqa: F401 - registers the storefront resolvers
from tests.fakes.saleor_api import create_event_from_response, create_failed_event, truncate_message
from tests.fakes.saleor_keys import SigningKey
from tests.fakes.saleor_model import (
    ZERO,
    Address,
    App,
    Checkout,
    CheckoutLineNode,
    Invoice,
    Line,
    Model,
    Order,
    OrderDiscountNode,
    OrderLineNode,
    TransactionEvent,
    TransactionItem,
    User,
    Webhook,
    round_money,
)
from tests.fakes.saleor_versions import satisfies, version_tuple
from tests.helpers.http import tls_context
from tests.helpers.servers import serve_asgi

__all__ = [
    "ActionResult",
    "Address",
    "Delivery",
    "FakeSaleor",
    "GatewayConfig",
    "InstallError",
    "Line",
    "SessionResult",
]

SALEOR_VERSION = "3.23.28"
SALEOR_3_20 = "3.20.119"  # the newest release of the long-term-support line, as run against the app
VERSION_ENV = "FAKE_SALEOR_VERSION"


def default_version() -> str:
    """The version a fake takes when none is given: $FAKE_SALEOR_VERSION, else the newest."""
    return os.environ.get(VERSION_ENV, "").strip() or SALEOR_VERSION


FAILED_DELIVERY = "Failed to delivery request."
ALL_EVENT_TYPES = (
    "AUTHORIZATION_SUCCESS, AUTHORIZATION_FAILURE, AUTHORIZATION_ADJUSTMENT, AUTHORIZATION_REQUEST, "
    "AUTHORIZATION_ACTION_REQUIRED, CHARGE_ACTION_REQUIRED, CHARGE_SUCCESS, CHARGE_FAILURE, CHARGE_BACK, "
    "CHARGE_REQUEST, REFUND_SUCCESS, REFUND_FAILURE, REFUND_REVERSE, REFUND_REQUEST, CANCEL_SUCCESS, "
    "CANCEL_FAILURE, CANCEL_REQUEST, INFO"
)
SESSION_RESULTS = {
    "AUTHORIZATION_SUCCESS",
    "AUTHORIZATION_FAILURE",
    "AUTHORIZATION_REQUEST",
    "AUTHORIZATION_ACTION_REQUIRED",
    "CHARGE_SUCCESS",
    "CHARGE_FAILURE",
    "CHARGE_REQUEST",
    "CHARGE_ACTION_REQUIRED",
    "CANCEL_SUCCESS",
}
ACTION_RESULTS = {
    "CHARGE": {"CHARGE_SUCCESS", "CHARGE_FAILURE"},
    "REFUND": {"REFUND_SUCCESS", "REFUND_FAILURE"},
    "CANCEL": {"CANCEL_SUCCESS", "CANCEL_FAILURE"},
}
ACTION_EVENTS = {
    "CHARGE": "TRANSACTION_CHARGE_REQUESTED",
    "REFUND": "TRANSACTION_REFUND_REQUESTED",
    "CANCEL": "TRANSACTION_CANCELATION_REQUESTED",
}
PAYMENT_EVENTS = {
    "PAYMENT_GATEWAY_INITIALIZE_SESSION",
    "TRANSACTION_INITIALIZE_SESSION",
    "TRANSACTION_PROCESS_SESSION",
    *ACTION_EVENTS.values(),
}
ORDER_EVENTS = {"ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_UPDATED", "ORDER_CANCELLED"}
EVENT_PERMISSIONS = {
    **{event: "HANDLE_PAYMENTS" for event in PAYMENT_EVENTS},
    "INVOICE_REQUESTED": "MANAGE_ORDERS",
    **{event: "MANAGE_ORDERS" for event in ORDER_EVENTS},
}
STAFF = User(pk=21, email="admin@example.com")
KNOWN_PERMISSIONS = {
    "MANAGE_USERS", "MANAGE_STAFF", "IMPERSONATE_USER", "MANAGE_APPS", "MANAGE_OBSERVABILITY",
    "MANAGE_CHECKOUTS", "HANDLE_CHECKOUTS", "HANDLE_TAXES", "MANAGE_TAXES", "MANAGE_CHANNELS",
    "MANAGE_DISCOUNTS", "MANAGE_GIFT_CARD", "MANAGE_MENUS", "MANAGE_ORDERS", "MANAGE_ORDERS_IMPORT",
    "MANAGE_PAGES", "MANAGE_PAGE_TYPES_AND_ATTRIBUTES", "HANDLE_PAYMENTS", "MANAGE_PLUGINS",
    "MANAGE_PRODUCTS", "MANAGE_PRODUCT_TYPES_AND_ATTRIBUTES", "MANAGE_SHIPPING", "MANAGE_SETTINGS",
    "MANAGE_TRANSLATIONS",
}  # fmt: skip
_URL = TypeAdapter(HttpUrl)
# Saleor 3.20's fixed extension mounts and targets (saleor/app/types.py); 3.22+ stores any string.
MOUNTS_3_20 = {
    "CUSTOMER_OVERVIEW_CREATE", "CUSTOMER_OVERVIEW_MORE_ACTIONS", "CUSTOMER_DETAILS_MORE_ACTIONS",
    "PRODUCT_OVERVIEW_CREATE", "PRODUCT_OVERVIEW_MORE_ACTIONS", "PRODUCT_DETAILS_MORE_ACTIONS",
    "NAVIGATION_CATALOG", "NAVIGATION_ORDERS", "NAVIGATION_CUSTOMERS", "NAVIGATION_DISCOUNTS",
    "NAVIGATION_TRANSLATIONS", "NAVIGATION_PAGES",
    "ORDER_DETAILS_MORE_ACTIONS", "ORDER_OVERVIEW_CREATE", "ORDER_OVERVIEW_MORE_ACTIONS",
}  # fmt: skip
TARGETS_3_20 = {"POPUP", "APP_PAGE"}
IDENTIFIER_MAX_LENGTH = 256  # webhook and extension identifiers, 3.23 (saleor/app/manifest_schema.py)


class InstallError(Exception):
    """Saleor refused or failed the installation (the App row is gone again)."""


@dataclass
class Delivery:
    """One HTTP request the fake Saleor sent to an app, and what came back."""

    event: str
    url: str
    headers: dict[str, str]
    body: bytes
    attempt: int = 1
    status: int | None = None
    response_body: bytes = b""
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)


@dataclass
class SessionResult:
    """What `transactionInitialize` / `transactionProcess` return to the storefront."""

    transaction: TransactionItem | None
    event: TransactionEvent | None
    data: Any = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    delivery: Delivery | None = None


@dataclass
class ActionResult:
    """A staff `transactionRequestAction`: the request event and what the app's answer made of it."""

    transaction: TransactionItem
    request_event: TransactionEvent
    event: TransactionEvent | None
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class GatewayConfig:
    id: str
    data: Any
    errors: list[dict[str, Any]]


@dataclass
class _Parsed:
    type: str | None
    psp: str
    amount: Decimal
    message: str
    external_url: str
    time: datetime | None
    actions: list[str] | None


def _root_fields(query: str, operation_name: str | None) -> frozenset[str]:
    """The top-level fields a request runs (`transactionEventReport`, …), whatever its operation is
    called: the app picks a document per Saleor line, so one mutation goes out under several names."""
    try:
        document = parse(query)
    except GraphQLError:
        return frozenset()
    return frozenset(
        selection.name.value
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (operation_name is None or (definition.name is not None and definition.name.value == operation_name))
        for selection in definition.selection_set.selections
        if isinstance(selection, FieldNode)
    )


def _camel_to_event(type_name: str) -> str:
    out = []
    for char in type_name:
        if char.isupper() and out:
            out.append("_")
        out.append(char.upper())
    return "".join(out)


class FakeSaleor:
    """One fake Saleor: model + GraphQL API + JWKS + webhook sender. See the module docstring."""

    def __init__(
        self,
        *,
        version: str | None = None,
        webhook_timeout: float = 18.0,
        connect_timeout: float = 2.0,
        action_retry_delays: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0),
    ) -> None:
        self.version = version or default_version()
        self.webhook_timeout = webhook_timeout
        self.connect_timeout = connect_timeout
        self.action_retry_delays = action_retry_delays
        self.model = Model()
        self.lock = threading.RLock()
        self.key = SigningKey()
        self.schema: GraphQLSchema = saleor_api.build_fake_schema(schema_line_of(self.version))
        self.deliveries: list[Delivery] = []
        self.graphql_log: list[dict[str, Any]] = []
        self.ignored_answer_keys: list[str] = []  # keys of app answers this line does not know
        self.base_url = "http://saleor.invalid"
        self.api_down = False  # an outage: the GraphQL API answers 503 while True
        self.latency_seconds = 0.0  # every GraphQL answer waits this long (a real Saleor takes 0.2–0.7 s)
        # Root fields (e.g. "transactionEventReport") whose answers get lost after Saleor applied them
        # (answered 504, as by a proxy), under whichever operation name the request calls them.
        self.lose_answers_to: set[str] = set()
        # While set, answers to requests that run these root fields wait after being applied (a process
        # can die meanwhile).
        self.hold_answers_to: set[str] = set()
        self.held_answers = 0  # how many applied requests are waiting in hold_answers_to now
        self.in_flight = 0  # GraphQL requests being answered now, and the most at once
        self.max_in_flight = 0
        self.asgi = self._build_asgi()

    # --- serving --------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def serve(cls, **options: Any) -> Iterator[FakeSaleor]:
        """A fake Saleor listening on a loopback port for the duration of the block."""
        fake = cls(**options)
        with serve_asgi(fake.asgi) as base_url:
            fake.base_url = base_url
            yield fake

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/graphql/"

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def schema_version(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def schema_line(self) -> str:
        """The schema subset this fake runs: "3.20" or the newest."""
        return schema_line_of(self.version)

    def jwks(self) -> dict[str, Any]:
        return self.key.jwks()

    def rotate_key(self) -> str:
        """Replace the signing key (Saleor publishes only the current one); returns the new kid."""
        self.key = SigningKey()
        return self.key.kid

    def sign(self, body: bytes) -> str:
        return self.key.sign_detached(body)

    def _build_asgi(self) -> FastAPI:
        api = FastAPI(title="fake saleor", openapi_url=None, docs_url=None, redoc_url=None)
        # Storefronts call the API from their own origin (examples/storefront); Saleor allows any.
        api.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["POST"], allow_headers=["*"])

        @api.get("/.well-known/jwks.json")
        async def jwks() -> JSONResponse:
            return JSONResponse(self.jwks())

        @api.post("/graphql/")
        async def graphql(request: Request) -> JSONResponse:
            if self.api_down:
                return JSONResponse({"errors": [{"message": "Service Unavailable"}]}, status_code=503)
            raw = await request.body()
            token = None
            authorization = request.headers.get("authorization", "")
            if authorization.lower().startswith("bearer "):
                token = authorization[7:].strip()
            try:
                payload = json.loads(raw, parse_float=Decimal)
            except ValueError:
                return JSONResponse({"errors": [{"message": "Unable to parse query."}]}, status_code=400)
            if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
                return JSONResponse({"errors": [{"message": "Must provide a query string."}]}, status_code=400)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                return await self._answer(payload, token)
            finally:
                self.in_flight -= 1

        return api

    async def _answer(self, payload: dict[str, Any], token: str | None) -> JSONResponse:
        """Apply one GraphQL request with the configured latency, held or lost answers."""
        if self.latency_seconds:
            await asyncio.sleep(self.latency_seconds)
        # In a thread: a storefront's payment mutations call the app, which may call this API meanwhile.
        status, body = await asyncio.to_thread(
            self.execute_graphql,
            payload["query"],
            payload.get("variables"),
            token=token,
            operation_name=payload.get("operationName"),
        )
        fields = _root_fields(payload["query"], payload.get("operationName"))
        if fields & self.hold_answers_to:
            self.held_answers += 1
            try:
                while fields & self.hold_answers_to:  # noqa: ASYNC110 (released from the test's thread)
                    await asyncio.sleep(0.05)
            finally:
                self.held_answers -= 1
        if fields & self.lose_answers_to:
            return JSONResponse({"errors": [{"message": "Gateway Timeout"}]}, status_code=504)
        return JSONResponse(body, status_code=status)

    # --- GraphQL ------------------------------------------------------------------------------

    def execute_graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Run a document as Saleor would for that token; returns (HTTP status, JSON body)."""
        with self.lock:
            app = self.model.app_by_token(token)
            result, invalid = saleor_api.run(
                self.schema,
                query,
                variables=variables,
                operation_name=operation_name,
                context={"app": app, "model": self.model, "saleor": self},
            )
            body: dict[str, Any] = {}
            if result.errors:
                body["errors"] = [saleor_api.format_error(e) for e in result.errors]
            if not invalid:
                body["data"] = result.data
            self.graphql_log.append(
                {"query": query, "variables": variables, "app": app.identifier if app else None, "response": body}
            )
            return (400 if invalid else 200), body

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> Any:
        """In-process GraphQL (test reads); JSON round-tripped so values look as over HTTP."""
        _status, body = self.execute_graphql(query, variables, token=token)
        return json.loads(json.dumps(body), parse_float=Decimal)

    # --- model helpers -----------------------------------------------------------------------

    def create_checkout(
        self,
        lines: list[Line] | None = None,
        *,
        email: str | None = "buyer@example.com",
        channel: str = "default-channel",
        shipping: Decimal | str = "0",
        shipping_net: Decimal | str | None = None,
        discount: Decimal | str = "0",
        billing_address: Address | None = None,
        user_email: str | None = None,
        language_code: str = "EN_US",
    ) -> Checkout:
        with self.lock:
            chan = self.model.channels[channel]
            items = lines if lines is not None else [Line("T-shirt", "L", "TSHIRT-L", 1, Decimal("20.00"))]
            user = User(self.model.next_pk(), user_email) if user_email else None
            checkout = Checkout(
                token=uuid.uuid4(),
                channel=chan,
                email=email,
                lines=[CheckoutLineNode(self.model.next_pk(), line, chan.currency_code) for line in items],
                shipping_gross=Decimal(shipping),
                shipping_net=Decimal(shipping_net if shipping_net is not None else shipping),
                discount_amount=Decimal(discount),
                billing_address=billing_address if billing_address is not None else Address(),
                user=user,
                language_code=language_code,
            )
            self.model.checkouts[checkout.id] = checkout
            return checkout

    def create_order(
        self,
        lines: list[Line] | None = None,
        *,
        email: str | None = "buyer@example.com",
        channel: str = "default-channel",
        shipping: Decimal | str = "0",
        shipping_net: Decimal | str | None = None,
        discount: Decimal | str = "0",
        billing_address: Address | None = None,
        language_code: str = "EN_US",
    ) -> Order:
        """An unpaid order, as `draftOrderComplete` leaves it (status UNFULFILLED, B6)."""
        with self.lock:
            chan = self.model.channels[channel]
            items = lines if lines is not None else [Line("T-shirt", "L", "TSHIRT-L", 1, Decimal("20.00"))]
            discounts = (
                [OrderDiscountNode(self.model.next_pk(), Decimal(discount), chan.currency_code)]
                if Decimal(discount)
                else []
            )
            order = Order(
                token=uuid.uuid4(),
                number=self.model.next_order_number(),
                channel=chan,
                user_email=email,
                lines=[OrderLineNode(self.model.next_pk(), line, chan.currency_code) for line in items],
                shipping_gross=Decimal(shipping),
                shipping_net=Decimal(shipping_net if shipping_net is not None else shipping),
                discounts=discounts,
                billing_address=billing_address if billing_address is not None else Address(),
                language_code_enum=language_code,
            )
            self.model.orders[order.id] = order
            return order

    def checkout(self, checkout_id: str) -> Checkout:
        with self.lock:
            found: Checkout | None = self.model.node(checkout_id, "Checkout")
            if found is None:
                raise KeyError(checkout_id)
            return found

    def order(self, order_id: str) -> Order:
        with self.lock:
            found: Order | None = self.model.node(order_id, "Order")
            if found is None:
                raise KeyError(order_id)
            return found

    def transaction(self, transaction_id: str) -> TransactionItem:
        with self.lock:
            found: TransactionItem | None = self.model.node(transaction_id, "TransactionItem")
            if found is None:
                raise KeyError(transaction_id)
            return found

    def checkout_complete(self, checkout_id: str) -> dict[str, Any]:
        """Storefront `checkoutComplete` (anonymous)."""
        document = (
            "mutation($id: ID!) { checkoutComplete(id: $id) { order { id number chargeStatus } "
            "confirmationNeeded errors { field code message } } }"
        )
        result = self.graphql(document, {"id": checkout_id})
        return dict(result["data"]["checkoutComplete"])

    # --- apps ----------------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        return httpx.Client(
            timeout=httpx.Timeout(self.webhook_timeout, connect=self.connect_timeout),
            follow_redirects=False,
            verify=tls_context(),
        )

    def install_app(self, manifest_url: str, *, permissions: list[str] | None = None, activate: bool = True) -> App:
        """`appInstall`: fetch the manifest, create the app and its webhooks, POST the token (§2.2)."""
        headers = {"Saleor-Schema-Version": self.schema_version, "User-Agent": f"Saleor/{self.schema_version}"}
        with self._http() as client:
            response = client.get(manifest_url, headers=headers)
            if response.status_code != 200:
                raise InstallError(f"manifest fetch failed: HTTP {response.status_code}")
            manifest = response.json()
            with self.lock:
                app = self._create_app(manifest, permissions, activate)
            body = json.dumps({"auth_token": app.token}).encode()
            register_headers = {
                "Content-Type": "application/json",
                "Saleor-Domain": self.domain,
                "X-Saleor-Domain": self.domain,
                "Saleor-Api-Url": self.api_url,
                "Saleor-Schema-Version": self.schema_version,
                "User-Agent": f"Saleor/{self.schema_version}",
            }
            token_url = manifest.get("tokenTargetUrl")
            if token_url:
                delivery = Delivery("register", token_url, register_headers, body)
                self.deliveries.append(delivery)
                try:
                    reply = client.post(token_url, content=body, headers=register_headers)
                except httpx.HTTPError as exc:
                    delivery.error = type(exc).__name__
                    self._delete_app(app)
                    raise InstallError(f"App internal error ({type(exc).__name__})") from exc
                delivery.status, delivery.response_body = reply.status_code, reply.content
                if not 200 <= reply.status_code < 300:
                    self._delete_app(app)
                    message = f"App internal error ({reply.status_code})"
                    with contextlib.suppress(ValueError, AttributeError, TypeError):
                        message = reply.json()["error"]["message"] or message
                    raise InstallError(message)
        return app

    def _create_app(self, manifest: dict[str, Any], permissions: list[str] | None, activate: bool) -> App:
        for key in ("id", "version", "name"):
            if not isinstance(manifest.get(key), str) or not manifest[key]:
                raise InstallError(f"manifest field {key!r} is required")
        required = manifest.get("requiredSaleorVersion")
        if required:
            try:
                supported = satisfies(self.version, str(required))
            except ValueError as exc:
                raise InstallError(f"requiredSaleorVersion: {exc}") from None
            if not supported:
                raise InstallError(f"Saleor version {self.version} is not supported by the app")
        if self.model.app_by_identifier(manifest["id"]):
            raise InstallError("App with the same identifier is already installed")
        requested = list(manifest.get("permissions") or [])
        unknown = [p for p in requested if p not in KNOWN_PERMISSIONS]
        if unknown:
            raise InstallError(f"unknown permissions {unknown}")
        if "MANAGE_APPS" in requested:
            raise InstallError("MANAGE_APPS cannot be granted to apps")
        granted = set(permissions if permissions is not None else requested)
        app = App(
            pk=self.model.next_pk(),
            identifier=manifest["id"],
            name=manifest["name"],
            token=self.model.new_app_token(),
            permissions=granted,
            manifest=manifest,
            is_active=activate,
        )
        self._check_extensions(manifest, granted)
        self._check_identifiers(manifest.get("webhooks") or [], "webhook")
        for item in manifest.get("webhooks") or []:
            app.webhooks.append(self._manifest_webhook(app, item))
        self.model.apps.append(app)
        return app

    def _check_extensions(self, manifest: dict[str, Any], granted: set[str]) -> None:
        """`clean_extensions`: 3.20 takes only its fixed mounts and targets; 3.22+ any string."""
        extensions = manifest.get("extensions") or []
        for item in extensions:
            for key in ("label", "url", "mount"):
                if not isinstance(item.get(key), str) or not item[key]:
                    raise InstallError(f"extension field {key!r} is required")
            if self.schema_line == "3.20":
                # 3.20.119 checks the target first (when given), then the mount, and reports both.
                wrong = []
                if item.get("target", "POPUP") not in TARGETS_3_20:
                    wrong.append("target")
                if item["mount"] not in MOUNTS_3_20:
                    wrong.append("mount")
                if wrong:
                    raise InstallError("; ".join(f"Incorrect value for field: {field}" for field in wrong))
            if item["url"].startswith("/") and not manifest.get("appUrl"):
                raise InstallError("Incorrect value for field: url.")
            if not set(item.get("permissions") or []) <= granted:
                raise InstallError("Extension permission must be listed in App's permissions.")
        self._check_identifiers(extensions, "extension")

    def _check_identifiers(self, items: list[dict[str, Any]], kind: str) -> None:
        """3.23: optional `identifier`s, blank counting as none, unique per app, at most 256 characters."""
        if self.schema_line == "3.20":
            return  # 3.20 has no such field and ignores the key
        seen: set[str] = set()
        for item in items:
            identifier = str(item.get("identifier") or "").strip()
            if not identifier:
                continue
            if len(identifier) > IDENTIFIER_MAX_LENGTH:
                raise InstallError("Identifier is too long. Maximum length is 256 characters.")
            if identifier in seen:
                raise InstallError(f"Duplicate {kind} identifier: {identifier}.")
            seen.add(identifier)

    def _manifest_webhook(self, app: App, item: dict[str, Any]) -> Webhook:
        for key in ("name", "targetUrl", "query"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise InstallError(f"webhook field {key!r} is required")
        if urlsplit(item["targetUrl"]).scheme not in {"http", "https"}:
            raise InstallError(f"webhook targetUrl {item['targetUrl']!r} is not http(s)")
        problems = saleor_api.validate_document(self.schema, item["query"])
        if problems:
            raise InstallError(f"Subscription query is not valid: {problems[0]}")
        inferred = self._events_of_query(item["query"])
        sync_events = list(item.get("syncEvents") or [])
        async_events = list(item.get("asyncEvents") or [])
        sync_enum = self.schema.type_map["WebhookEventTypeSyncEnum"]
        async_enum = self.schema.type_map["WebhookEventTypeAsyncEnum"]
        for name in sync_events:
            if name not in sync_enum.values:  # type: ignore[attr-defined]
                raise InstallError(f"unknown sync event {name}")
        for name in async_events:
            if name not in async_enum.values:  # type: ignore[attr-defined]
                raise InstallError(f"unknown async event {name}")
        if not sync_events and not async_events:
            sync_events = [e for e in inferred if e in sync_enum.values]  # type: ignore[attr-defined]
            async_events = [e for e in inferred if e in async_enum.values]  # type: ignore[attr-defined]
        return Webhook(
            pk=self.model.next_pk(),
            app=app,
            name=item["name"],
            target_url=item["targetUrl"],
            query=item["query"],
            sync_events=sync_events,
            async_events=async_events,
            is_active=item.get("isActive", True) is not False,
        )

    @staticmethod
    def _events_of_query(query: str) -> list[str]:
        """Saleor's rule: one subscription selecting only `event`; events from its type conditions."""
        document = parse(query)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation.value != "subscription":
            raise InstallError("Subscription query must contain exactly one subscription operation")
        selections = operations[0].selection_set.selections
        if len(selections) != 1 or not isinstance(selections[0], FieldNode) or selections[0].name.value != "event":
            raise InstallError("Subscription query must select only `event`")
        events = []
        for selection in selections[0].selection_set.selections if selections[0].selection_set else ():
            if isinstance(selection, InlineFragmentNode) and selection.type_condition:
                events.append(_camel_to_event(selection.type_condition.name.value))
        return events

    def _delete_app(self, app: App) -> None:
        with self.lock:
            if app in self.model.apps:
                self.model.apps.remove(app)

    def uninstall_app(self, app: App) -> None:
        """`appDelete`: the token stops working at once."""
        self._delete_app(app)

    def issue_dashboard_token(
        self,
        app: App,
        *,
        user_permissions: list[str] | None = None,
        email: str = "staff@example.com",
        ttl_seconds: int = 300,
        **claims: Any,
    ) -> str:
        """The JWT Dashboard hands the app's iframe (PROTOCOL.md §9)."""
        perms = user_permissions if user_permissions is not None else ["MANAGE_APPS", "HANDLE_PAYMENTS"]
        body = {
            "iss": self.api_url,
            "owner": "saleor",
            "type": "thirdparty",
            "token": uuid.uuid4().hex,
            "email": email,
            "user_id": "VXNlcjox",
            "is_staff": True,
            "app": app.id,
            "permissions": sorted(set(perms) & app.permissions),
            "user_permissions": perms,
            **claims,
        }
        return self.key.issue_jwt(body, ttl_seconds=ttl_seconds)

    # --- webhooks: payload, signature, delivery --------------------------------------------

    def webhooks_for(self, app: App, event: str) -> list[Webhook]:
        return [w for w in app.webhooks if w.is_active and (event in w.sync_events or event in w.async_events)]

    def _event_root(
        self, event: str, app: App, fields: dict[str, Any], issuing_app: App | User | None
    ) -> dict[str, Any]:
        type_name = "".join(part.capitalize() for part in event.split("_"))
        return {
            "__typename": type_name,
            "issuedAt": self.model.clock.now(),
            "version": self.version,
            "issuingPrincipal": issuing_app,
            "recipient": app,
            **fields,
        }

    def build_payload(self, webhook: Webhook, event_root: dict[str, Any]) -> bytes:
        """Execute the webhook's own subscription query; the body is what sits under `event`."""
        with self.lock:
            result, invalid = saleor_api.run(
                self.schema,
                webhook.query,
                variables=None,
                operation_name=None,
                context={"app": webhook.app, "model": self.model},
                root={"event": event_root},
            )
        if invalid or result.data is None:
            raise RuntimeError(f"subscription could not be executed: {result.errors}")
        payload = dict(result.data["event"] or {})
        if result.errors:
            payload["errors"] = [saleor_api.format_error(e) for e in result.errors]
        return json.dumps(payload).encode("utf-8")

    def webhook_headers(self, event: str, signature: str) -> dict[str, str]:
        """The headers of PROTOCOL.md §3.1, in the order Saleor 3.23 sent them."""
        name = event.lower()
        return {
            "User-Agent": f"Saleor/{self.schema_version}",
            "Content-Type": "application/json",
            "X-Saleor-Event": name,
            "X-Saleor-Domain": self.domain,
            "X-Saleor-Signature": signature,
            "Saleor-Event": name,
            "Saleor-Domain": self.domain,
            "Saleor-Signature": signature,
            "Saleor-Api-Url": self.api_url,
            "traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
        }

    def send_webhook(
        self,
        event: str,
        raw_body: bytes,
        *,
        url: str | None = None,
        app: App | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        attempt: int = 1,
    ) -> Delivery:
        """POST a (hand-made or tampered) body as Saleor would; signs it unless `signature` is given."""
        if url is None:
            target = app or (self.model.apps[-1] if self.model.apps else None)
            hooks = self.webhooks_for(target, event.upper()) if target else []
            if not hooks:
                raise LookupError(f"no webhook for {event}")
            url = hooks[0].target_url
        sent_headers = self.webhook_headers(event, signature if signature is not None else self.sign(raw_body))
        sent_headers.update(headers or {})
        delivery = Delivery(event.lower(), url, sent_headers, raw_body, attempt=attempt)
        self.deliveries.append(delivery)
        with self._http() as client:
            try:
                response = client.post(url, content=raw_body, headers=sent_headers)
            except httpx.TimeoutException as exc:
                delivery.error = f"timeout: {type(exc).__name__}"
                return delivery
            except httpx.HTTPError as exc:
                delivery.error = f"{type(exc).__name__}: {exc}"
                return delivery
        delivery.status, delivery.response_body = response.status_code, response.content
        return delivery

    def _deliver(self, webhook: Webhook, event: str, event_root: dict[str, Any]) -> Delivery:
        body = self.build_payload(webhook, event_root)
        return self.send_webhook(event, body, url=webhook.target_url)

    @staticmethod
    def _response_json(delivery: Delivery) -> Any:
        """The answer as Saleor reads it: None unless 2xx with a JSON body."""
        if delivery.error or delivery.status is None or not 200 <= delivery.status < 300:
            return None
        try:
            return json.loads(delivery.response_body)
        except ValueError:
            return None

    def _session_app(self, gateway: str, event: str) -> tuple[App, Webhook] | None:
        app = self.model.app_by_identifier(gateway)
        if app is None or "HANDLE_PAYMENTS" not in app.permissions:
            return None
        hooks = [w for w in self.webhooks_for(app, event) if event in w.sync_events]
        return (app, hooks[0]) if hooks else None

    # --- storefront: paymentGatewayInitialize ----------------------------------------------

    def payment_gateway_initialize(
        self,
        source_id: str,
        *,
        gateways: list[str] | None = None,
        amount: Decimal | str | None = None,
        data: Any = None,
        issuing_app: App | None = None,
    ) -> list[GatewayConfig]:
        event = "PAYMENT_GATEWAY_INITIALIZE_SESSION"
        with self.lock:
            source = self.model.node(source_id, "Checkout", "Order")
            if source is None:
                raise KeyError(source_id)
            candidates = gateways or [a.identifier for a in self.model.apps if self._session_app(a.identifier, event)]
            value = Decimal(amount) if amount is not None else self._remaining(source)
        configs = []
        for gateway in candidates:
            found = self._session_app(gateway, event)
            if found is None:
                configs.append(GatewayConfig(gateway, None, [saleor_api.error("id", "NOT_FOUND", "App not found.")]))
                continue
            app, webhook = found
            root = self._event_root(event, app, {"amount": value, "data": data, "sourceObject": source}, issuing_app)
            answer = self._response_json(self._deliver(webhook, event, root))
            if not isinstance(answer, dict) or "data" not in answer:
                message = FAILED_DELIVERY if answer is None else "Missing `data` field in the response."
                configs.append(GatewayConfig(gateway, None, [saleor_api.error("id", "INVALID", message)]))
            else:
                configs.append(GatewayConfig(gateway, answer["data"], []))
        return configs

    # --- storefront: transactionInitialize / transactionProcess --------------------------

    @staticmethod
    def _remaining(source: Checkout | Order) -> Decimal:
        covered = source.covered()
        paid = covered["authorized"] + covered["authorize_pending"] + covered["charged"] + covered["charge_pending"]
        total = source.total if isinstance(source, Checkout) else source.total_amount
        return round_money(max(total - paid, ZERO), source.currency)

    def transaction_initialize(
        self,
        source_id: str,
        *,
        gateway: str,
        data: Any = None,
        amount: Decimal | str | None = None,
        action: str | None = None,
        idempotency_key: str | None = None,
        customer_ip_address: str | None = "127.0.0.1",
        issuing_app: App | None = None,
    ) -> SessionResult:
        """Storefront `transactionInitialize` (PROTOCOL.md §4.3): calls the app, applies its answer."""
        event = "TRANSACTION_INITIALIZE_SESSION"
        with self.lock:
            source = self.model.node(source_id, "Checkout", "Order")
            if source is None:
                return SessionResult(None, None, errors=[saleor_api.error("id", "NOT_FOUND", "Not found.")])
            found = self._session_app(gateway, event)
            if found is None:
                return SessionResult(
                    None, None, errors=[saleor_api.error("id", "NOT_FOUND", f"App with identifier {gateway} not found")]
                )
            app, webhook = found
            if action is not None and (issuing_app is None or "HANDLE_PAYMENTS" not in issuing_app.permissions):
                return SessionResult(None, None, errors=[saleor_api.error("action", "INVALID", "PermissionDenied")])
            if idempotency_key == "":
                return SessionResult(None, None, errors=[saleor_api.error("idempotencyKey", "INVALID", "Empty key.")])
            key = idempotency_key or str(uuid.uuid4())
            flow = action or source.channel.default_transaction_flow_strategy
            value = round_money(Decimal(amount), source.currency) if amount is not None else self._remaining(source)
            request_type = "CHARGE_REQUEST" if flow == "CHARGE" else "AUTHORIZATION_REQUEST"
            transaction, request_event, problem = self._transaction_for_key(source, app, key, request_type, value)
            if problem:
                return SessionResult(None, None, errors=[saleor_api.error("idempotencyKey", "UNIQUE", problem)])
            assert transaction is not None
            assert request_event is not None
            root = self._event_root(
                event,
                app,
                {
                    "action": {"amount": value, "currency": source.currency, "actionType": flow},
                    "data": data,
                    "idempotencyKey": key,
                    "merchantReference": transaction.id,
                    "customerIpAddress": customer_ip_address,
                    "transaction": transaction,
                    "sourceObject": source,
                },
                issuing_app,
            )
        delivery = self._deliver(webhook, event, root)
        answer = self._response_json(delivery)
        with self.lock:
            created = self._apply_session_answer(transaction, request_event, app, answer)
        returned = answer.get("data") if isinstance(answer, dict) else None
        return SessionResult(transaction, created, returned, [], delivery)

    def _transaction_for_key(
        self, source: Checkout | Order, app: App, key: str, request_type: str, amount: Decimal
    ) -> tuple[TransactionItem | None, TransactionEvent | None, str | None]:
        for transaction in self.model.transactions.values():
            if transaction.idempotency_key != key or transaction.app is not app:
                continue
            if source not in (transaction.checkout, transaction.order):
                return None, None, "idempotencyKey already used by another checkout or order"
            for event in transaction.events:
                if event.idempotency_key == key and event.type in {request_type} | {
                    "CHARGE_REQUEST",
                    "AUTHORIZATION_REQUEST",
                }:
                    if event.amount_value == amount and (event.type == request_type or event.include_in_calculations):
                        return transaction, event, None
            return None, None, "idempotencyKey already used with a different amount or action"
        transaction = TransactionItem(
            token=uuid.uuid4(),
            currency=source.currency,
            app=app,
            checkout=source if isinstance(source, Checkout) else None,
            order=source if isinstance(source, Order) else None,
            idempotency_key=key,
            created_at=self.model.clock.now(),
        )
        request_event = self.model.add_event(
            transaction, request_type, amount, include_in_calculations=False, idempotency_key=key
        )
        transaction.recalculate()
        self.model.transactions[transaction.id] = transaction
        source.transactions.append(transaction)
        return transaction, request_event, None

    def transaction_process(
        self,
        transaction_id: str,
        *,
        data: Any = None,
        customer_ip_address: str | None = "127.0.0.1",
        issuing_app: App | None = None,
    ) -> SessionResult:
        """Storefront `transactionProcess` (PROTOCOL.md §4.4)."""
        event = "TRANSACTION_PROCESS_SESSION"
        with self.lock:
            transaction: TransactionItem | None = self.model.node(transaction_id, "TransactionItem")
            if transaction is None:
                return SessionResult(None, None, errors=[saleor_api.error("id", "NOT_FOUND", "Not found.")])
            final = {
                "AUTHORIZATION_SUCCESS",
                "AUTHORIZATION_FAILURE",
                "AUTHORIZATION_REQUEST",
                "CHARGE_SUCCESS",
                "CHARGE_FAILURE",
                "CHARGE_REQUEST",
            }
            processed = [e for e in transaction.events if e.include_in_calculations and e.type in final]
            if processed:
                return SessionResult(transaction, processed[0], None, [])
            request_events = [
                e
                for e in transaction.events
                if not e.include_in_calculations and e.type in {"CHARGE_REQUEST", "AUTHORIZATION_REQUEST"}
            ]
            if not request_events:
                return SessionResult(
                    transaction,
                    None,
                    errors=[saleor_api.error("id", "INVALID", "Missing call of transactionInitialize mutation.")],
                )
            request_event = request_events[0]
            app = transaction.app
            if app is None or app not in self.model.apps:
                return SessionResult(
                    transaction, None, errors=[saleor_api.error("id", "MISSING_PAYMENT_APP", "App not found.")]
                )
            found = self._session_app(app.identifier, event)
            if found is None:
                return SessionResult(
                    transaction,
                    None,
                    errors=[saleor_api.error("id", "MISSING_PAYMENT_APP_RELATION", "No webhook.")],
                )
            _app, webhook = found
            source = transaction.checkout or transaction.order
            flow = "CHARGE" if request_event.type == "CHARGE_REQUEST" else "AUTHORIZATION"
            root = self._event_root(
                event,
                app,
                {
                    "action": {
                        "amount": request_event.amount_value,
                        "currency": transaction.currency,
                        "actionType": flow,
                    },
                    "data": data,
                    "merchantReference": transaction.id,
                    "customerIpAddress": customer_ip_address,
                    "transaction": transaction,
                    "sourceObject": source,
                },
                issuing_app,
            )
        delivery = self._deliver(webhook, event, root)
        answer = self._response_json(delivery)
        with self.lock:
            created = self._apply_session_answer(transaction, request_event, app, answer)
        returned = answer.get("data") if isinstance(answer, dict) else None
        return SessionResult(transaction, created, returned, [], delivery)

    # --- applying answers -----------------------------------------------------------------

    @staticmethod
    def _parse_answer(
        answer: Any, *, default_amount: Decimal, allowed: set[str], result_required: bool, psp_required: bool
    ) -> tuple[_Parsed | None, str | None]:
        """Saleor 3.23's response validation; returns the parsed answer or the failure text."""
        if answer is None:
            return None, FAILED_DELIVERY
        if not isinstance(answer, dict):
            return None, "Response is not a JSON object."
        result = answer.get("result")
        if result is None and result_required:
            return None, f"Missing or invalid value for `result`: None. Possible values: {ALL_EVENT_TYPES}."
        if result is not None and result not in allowed:
            return None, f"Missing or invalid value for `result`: {result}. Possible values: {ALL_EVENT_TYPES}."
        raw_amount = answer.get("amount")
        amount = default_amount
        if raw_amount is not None:
            try:
                if isinstance(raw_amount, bool) or not isinstance(raw_amount, str | int | float):
                    raise InvalidOperation
                amount = Decimal(str(raw_amount))
                if not amount.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                return None, (
                    f"Incorrect value ({raw_amount}) for field: amount. Error: Input should be a valid decimal."
                )
            amount = amount.quantize(Decimal("0.001"))
        url = answer.get("externalUrl")
        if url is not None:
            try:
                _URL.validate_python(url)
            except ValidationError as exc:
                return None, f"Incorrect value ({url}) for field: externalUrl. Error: {exc.errors()[0]['msg']}."
        psp = answer.get("pspReference")
        if psp is not None and not isinstance(psp, str):
            return None, f"Incorrect value ({psp}) for field: pspReference. Error: Input should be a valid string."
        psp = psp or ""
        if len(psp) > 512:
            return None, "Incorrect value for field: pspReference. Error: String should have at most 512 characters."
        needs_psp = psp_required or (result is not None and not result.endswith(("_FAILURE", "_ACTION_REQUIRED")))
        if needs_psp and not psp:
            return None, f"Providing `pspReference` is required for {result or 'an acknowledgement'}."
        when = None
        if answer.get("time") is not None:
            try:
                when = datetime.fromisoformat(str(answer["time"]).replace("Z", "+00:00"))
            except ValueError:
                return (
                    None,
                    f"Incorrect value ({answer['time']}) for field: time. Error: Input should be a valid datetime.",
                )
        actions = answer.get("actions")
        if actions is not None:
            actions = [a for a in actions if a in {"CHARGE", "REFUND", "CANCEL"}] if isinstance(actions, list) else []
        message = answer.get("message")
        return (
            _Parsed(
                type=result,
                psp=psp,
                amount=amount,
                message=truncate_message(message if isinstance(message, str) else ""),
                external_url=url or "",
                time=when,
                actions=actions,
            ),
            None,
        )

    def _apply_session_answer(
        self, transaction: TransactionItem, request_event: TransactionEvent, app: App, answer: Any
    ) -> TransactionEvent:
        """Port of Saleor's create_transaction_event_for_transaction_session."""
        parsed, problem = self._parse_answer(
            answer,
            default_amount=request_event.amount_value,
            allowed=SESSION_RESULTS,
            result_required=True,
            psp_required=False,
        )
        if parsed is None or parsed.type is None:
            return self._failed(transaction, request_event, problem or "")
        details, details_problem = self._payment_method_of_answer(answer)
        if details_problem:
            return self._failed(transaction, request_event, details_problem)
        if details is not None:
            transaction.payment_method_details = details
        if parsed.type in {"CHARGE_REQUEST", "AUTHORIZATION_REQUEST"}:
            request_event.type = parsed.type
            request_event.amount_value = round_money(parsed.amount, transaction.currency)
            request_event.psp_reference = parsed.psp
            request_event.include_in_calculations = True
            request_event.app = app
            request_event.message = parsed.message
            request_event.external_url = parsed.external_url
            request_event.created_at = parsed.time or self.model.clock.now()
            event = request_event
        else:
            created, error_text = create_event_from_response(
                self.model,
                transaction,
                event_type=parsed.type,
                amount=parsed.amount,
                psp=parsed.psp,
                app=app,
                message=parsed.message,
                external_url=parsed.external_url,
                created_at=parsed.time,
            )
            if created is None:
                return self._failed(transaction, request_event, error_text or "")
            event = created
            request_event.psp_reference = event.psp_reference
        if event.type in {"AUTHORIZATION_REQUEST", "AUTHORIZATION_SUCCESS", "CHARGE_REQUEST", "CHARGE_SUCCESS"}:
            transaction.psp_reference = event.psp_reference
            if parsed.actions is not None:
                transaction.actions = sorted(set(parsed.actions))
        elif event.psp_reference and transaction.psp_reference != event.psp_reference:
            transaction.psp_reference = event.psp_reference
        transaction.recalculate()
        return event

    def _payment_method_of_answer(self, answer: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """3.22+ validates and stores `paymentMethodDetails`; older lines have no such key and pass
        it over unread, which the fake notes in `ignored_answer_keys` so tests can forbid it."""
        if "paymentMethodDetails" not in answer:
            return None, None
        if not self.takes_payment_method_details:
            self.ignored_answer_keys.append("paymentMethodDetails")
            return None, None
        return saleor_api.payment_method_details_of_answer(answer["paymentMethodDetails"])

    @property
    def takes_payment_method_details(self) -> bool:
        """`paymentMethodDetails` came in 3.22 (answers, transactionEventReport, TransactionItem)."""
        major, minor, _patch = version_tuple(self.version)
        return (major, minor) >= (3, 22)

    def _failed(self, transaction: TransactionItem, request_event: TransactionEvent, cause: str) -> TransactionEvent:
        event = create_failed_event(
            self.model,
            transaction,
            event_type=request_event.type,
            amount=request_event.amount_value,
            psp=request_event.psp_reference,
            cause=cause,
        )
        transaction.recalculate()
        return event

    # --- staff: transactionRequestAction ------------------------------------------------------

    def request_action(
        self,
        transaction_id: str,
        action_type: str,
        amount: Decimal | str | None = None,
        *,
        reason: str | None = None,
        staff: User | None = None,
    ) -> ActionResult:
        """Staff `transactionRequestAction` (CHARGE / REFUND / CANCEL), PROTOCOL.md §4.5.

        The request event keeps `reason` (the `refundReason`) as its message and `staff` as its
        `createdBy`, as Saleor 3.23 did (capture 048). The first attempt carries the payload; an
        HTTP ≥ 500 answer records the failure and is retried (delays `action_retry_delays`) with an
        empty body, as Saleor 3.23 does.
        """
        action = action_type.upper()
        event = ACTION_EVENTS[action]
        with self.lock:
            transaction = self.transaction(transaction_id)
            transaction.recalculate()
            limit = transaction.amounts["charged"] if action == "REFUND" else transaction.amounts["authorized"]
            value = limit if amount is None else min(Decimal(amount), limit)
            request_event = self.model.add_event(
                transaction, f"{action}_REQUEST", value, message=reason or "", user=staff
            )
            app = transaction.app
            hooks = [w for w in self.webhooks_for(app, event) if event in w.sync_events] if app else []
            if app is None or app not in self.model.apps or not hooks:
                failed = self._failed(transaction, request_event, "No app or webhook to handle the request.")
                return ActionResult(transaction, request_event, failed)
            root = self._event_root(
                event,
                app,
                {
                    "action": {
                        "actionType": action,
                        "amount": request_event.amount_value,
                        "currency": transaction.currency,
                    },
                    "transaction": transaction,
                },
                None,
            )
        first = self._deliver(hooks[0], event, root)
        deliveries = [first]
        answer = self._response_json(first)
        with self.lock:
            result_event = self._apply_action_answer(transaction, request_event, app, action, answer)
        if first.status is not None and first.status >= 500:
            for attempt, delay in enumerate(self.action_retry_delays, start=2):
                time.sleep(delay)
                retry = self.send_webhook(event, b"", url=hooks[0].target_url, attempt=attempt)
                deliveries.append(retry)
                if retry.status is None or retry.status < 500:
                    break
        return ActionResult(transaction, request_event, result_event, deliveries)

    def _apply_action_answer(
        self, transaction: TransactionItem, request_event: TransactionEvent, app: App, action: str, answer: Any
    ) -> TransactionEvent | None:
        """Port of create_transaction_event_from_request_and_webhook_response."""
        result = answer.get("result") if isinstance(answer, dict) else None
        parsed, problem = self._parse_answer(
            answer,
            default_amount=request_event.amount_value,
            allowed=ACTION_RESULTS[action],
            result_required=False,
            psp_required=not (isinstance(result, str) and result.endswith("_FAILURE")),
        )
        if parsed is None:
            return self._failed(transaction, request_event, problem or "")
        request_event.psp_reference = parsed.psp
        request_event.include_in_calculations = True
        event: TransactionEvent | None = None
        if parsed.type is not None:
            event, error_text = create_event_from_response(
                self.model,
                transaction,
                event_type=parsed.type,
                amount=parsed.amount,
                psp=parsed.psp,
                app=app,
                message=parsed.message,
                external_url=parsed.external_url,
                created_at=parsed.time,
            )
            if event is None:
                return self._failed(transaction, request_event, error_text or "")
        if parsed.actions is not None:
            transaction.actions = sorted(set(parsed.actions))
        transaction.recalculate()
        return event

    # --- staff: invoiceRequest ---------------------------------------------------------------

    def request_invoice(self, order_id: str, *, issuing_app: App | None = None) -> Invoice:
        """Staff `invoiceRequest` with no invoice plugin: a PENDING invoice + INVOICE_REQUESTED (B7)."""
        with self.lock:
            order = self.order(order_id)
            invoice = Invoice(pk=self.model.next_pk(), order=order)
            order.invoices.append(invoice)
            self.model.invoices[invoice.id] = invoice
        self.emit("INVOICE_REQUESTED", {"invoice": invoice, "order": order}, issuing_app)
        return invoice

    def emit(self, event: str, fields: dict[str, Any], issuing: App | User | None = None) -> list[Delivery]:
        """An async event, as Saleor's worker sends it after the change committed: to every active
        app holding the event's permission, built from that app's own subscription, signed."""
        with self.lock:
            targets = [
                (app, hook)
                for app in self.model.apps
                if app.is_active and EVENT_PERMISSIONS[event] in app.permissions
                for hook in self.webhooks_for(app, event)
            ]
            roots = [(hook, self._event_root(event, app, fields, issuing)) for app, hook in targets]
        return [self._deliver(hook, event, root) for hook, root in roots]

    # --- orders made outside the storefront: ORDER_* events --------------------------------

    def complete_draft_order(self, lines: list[Line] | None = None, **options: Any) -> tuple[Order, list[Delivery]]:
        """Staff `draftOrderCreate` + `draftOrderComplete`: an unpaid order (origin DRAFT, 035);
        ORDER_CREATED names the staff user. `confirmed=False` leaves it UNCONFIRMED."""
        confirmed = options.pop("confirmed", True)
        order = self.create_order(lines, **options)
        with self.lock:
            order.status = "UNFULFILLED" if confirmed else "UNCONFIRMED"
        return order, self.emit("ORDER_CREATED", {"order": order}, STAFF)

    def create_order_by_app(
        self, app: App, lines: list[Line] | None = None, **options: Any
    ) -> tuple[Order, list[Delivery]]:
        """Another app (a subscription service) makes an order (`orderCreateFromCheckout` or a draft it
        completes): ORDER_CREATED names that app."""
        order = self.create_order(lines, **options)
        with self.lock:
            order.origin = "CHECKOUT"
        return order, self.emit("ORDER_CREATED", {"order": order}, app)

    def confirm_order(self, order_id: str) -> list[Delivery]:
        """Staff `orderConfirm`: UNCONFIRMED → UNFULFILLED, ORDER_CONFIRMED."""
        with self.lock:
            order = self.order(order_id)
            order.status = "UNFULFILLED"
        return self.emit("ORDER_CONFIRMED", {"order": order}, STAFF)

    def cancel_order(self, order_id: str) -> list[Delivery]:
        """Staff `orderCancel`: status CANCELED, ORDER_CANCELLED (and ORDER_UPDATED, as Saleor does)."""
        with self.lock:
            order = self.order(order_id)
            order.status = "CANCELED"
        return self.emit("ORDER_CANCELLED", {"order": order}, STAFF) + self.emit(
            "ORDER_UPDATED", {"order": order}, STAFF
        )

    def change_order_lines(self, order_id: str, lines: list[Line]) -> list[Delivery]:
        """Staff edit an unfulfilled order's lines (`orderLinesCreate`/`orderLineUpdate`): ORDER_UPDATED."""
        with self.lock:
            order = self.order(order_id)
            order.lines = [OrderLineNode(self.model.next_pk(), line, order.currency) for line in lines]
        return self.emit("ORDER_UPDATED", {"order": order}, STAFF)

    def redeliver(self, delivery: Delivery) -> Delivery:
        """Saleor retrying a failed async delivery: the same body, signed again."""
        return self.send_webhook(delivery.event, delivery.body, url=delivery.url, attempt=delivery.attempt + 1)
