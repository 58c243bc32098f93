"""Saleor's own checks on an app manifest (PROTOCOL.md §2.1), as a test helper."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

ALLOWED_PERMISSIONS = {"HANDLE_PAYMENTS", "MANAGE_ORDERS", "MANAGE_CHECKOUTS"}
SYNC_EVENTS = {
    "PAYMENT_GATEWAY_INITIALIZE_SESSION",
    "TRANSACTION_INITIALIZE_SESSION",
    "TRANSACTION_PROCESS_SESSION",
    "TRANSACTION_CHARGE_REQUESTED",
    "TRANSACTION_REFUND_REQUESTED",
    "TRANSACTION_CANCELATION_REQUESTED",
}
ASYNC_EVENTS = {"INVOICE_REQUESTED", "ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_UPDATED", "ORDER_CANCELLED"}
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_RANGE = re.compile(r"^(>=|<=|>|<|=|\^|~)?\d+(\.\d+){0,2}( (>=|<=|>|<)\d+(\.\d+){0,2})*$")


def manifest_problems(manifest: dict[str, Any], schema: GraphQLSchema) -> list[str]:
    """Everything Saleor would refuse in this manifest; empty when it installs."""
    problems: list[str] = []
    for key in ("id", "version", "name"):
        if not isinstance(manifest.get(key), str) or not manifest[key].strip():
            problems.append(f"{key} is required")
    permissions = manifest.get("permissions", [])
    if "MANAGE_APPS" in permissions:
        problems.append("MANAGE_APPS cannot be requested")
    problems += [f"unknown permission {p}" for p in permissions if p not in ALLOWED_PERMISSIONS]
    for key in ("appUrl", "tokenTargetUrl", "homepageUrl", "supportUrl", "dataPrivacyUrl"):
        if key in manifest and not _URL.match(str(manifest[key])):
            problems.append(f"{key} is not a URL")
    if not manifest.get("tokenTargetUrl"):
        problems.append("a payment app needs tokenTargetUrl")
    logo = (manifest.get("brand") or {}).get("logo", {}).get("default")
    if logo is not None and not re.search(r"\.(png|jpg|jpeg|svg|gif|webp)$", logo):
        problems.append("brand.logo.default must name an image file")
    if not _RANGE.match(str(manifest.get("requiredSaleorVersion", ""))):
        problems.append("requiredSaleorVersion is not a semver range")
    events_seen: set[str] = set()
    for hook in manifest.get("webhooks", []):
        name = hook.get("name", "?")
        if not _URL.match(str(hook.get("targetUrl", ""))):
            problems.append(f"{name}: targetUrl is not an http(s) URL")
        sync, asynchronous = hook.get("syncEvents", []), hook.get("asyncEvents", [])
        problems += [f"{name}: unknown sync event {e}" for e in sync if e not in SYNC_EVENTS]
        problems += [f"{name}: unknown async event {e}" for e in asynchronous if e not in ASYNC_EVENTS]
        events_seen.update(sync + asynchronous)
        document = parse(hook["query"])
        errors = validate(schema, document)
        problems += [f"{name}: {error.message}" for error in errors]
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation.value != "subscription":
            problems.append(f"{name}: query must hold exactly one subscription")
        else:
            fields = [s.name.value for s in operations[0].selection_set.selections]  # type: ignore[attr-defined]
            if fields != ["event"]:
                problems.append(f"{name}: the subscription must select only `event`")
    if "TRANSACTION_INITIALIZE_SESSION" not in events_seen:
        problems.append("without TRANSACTION_INITIALIZE_SESSION Saleor does not list the gateway")
    return problems
