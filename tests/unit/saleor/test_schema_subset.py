"""The project's Saleor schema subsets and GraphQL documents.

Every tested Saleor line counts: the oldest supported (3.20) and the newest. Everything the app
sends (every file under saleor/subscriptions and saleor/documents, found by listing the folders,
and every manifest webhook query) must validate against the committed subset of both, so a field
that exists in only one of them fails here. One check, `test_subsets_match_the_upstream_schemas`,
proves the subsets are still true copies of the full upstream schemas; it alone needs files from
outside the repository (tests/shared_refs.py) and skips without them, naming what to fetch.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

import pytest
from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
)
from graphql.pyutils import Undefined

from saleor_coinpayments.saleor.manifest import build_manifest
from saleor_coinpayments.saleor.schema import (
    DOCUMENT_NAMES,
    NEWER_LINES_ONLY,
    NEWEST_LINE,
    OLDEST_LINE,
    SCHEMA_LINES,
    SUBSCRIPTION_EVENTS,
    documents_for_line,
    load_document,
    load_subscription,
    schema_line_of,
    subscription_file,
    subset_sdl,
)
from saleor_coinpayments.settings import load_settings
from tests import shared_refs
from tests.fakes import schema_subset_tool
from tests.fakes.schema_subset_tool import storefront_documents
from tests.helpers.manifest_rules import manifest_problems

PACKAGE = resources.files("saleor_coinpayments.saleor")


def _all_documents() -> dict[str, str]:
    documents = {f"subscriptions/{event.lower()}": load_subscription(event) for event in SUBSCRIPTION_EVENTS}
    documents.update({f"documents/{name}": load_document(name) for name in DOCUMENT_NAMES})
    return documents


def _sent_by_the_app(line: str = NEWEST_LINE) -> dict[str, str]:
    """Every document the app sends to a line, by listing the folders (new files are covered at once)."""
    skipped = NEWER_LINES_ONLY if line == OLDEST_LINE else frozenset()
    documents = {
        f"{path.parent.name}/{path.stem}": path.read_text(encoding="utf-8")
        for path in schema_subset_tool.document_paths()
        if path.parent.parent == schema_subset_tool.PACKAGE and path.stem not in skipped
    }
    manifest = build_manifest(load_settings(app_public_url="https://pay.example.com"), line)
    documents.update({f"manifest/{hook['name']}": hook["query"] for hook in manifest["webhooks"]})
    return documents


def _sent_to_each_line() -> list[tuple[str, str]]:
    return [(line, name) for line in SCHEMA_LINES for name in sorted(_sent_by_the_app(line))]


@functools.cache
def _real(line: str) -> GraphQLSchema:
    return build_schema(shared_refs.upstream_schema_sdl(line))


@functools.cache
def _subset(line: str) -> GraphQLSchema:
    return build_schema(subset_sdl(line))


@pytest.fixture(scope="module")
def subset() -> GraphQLSchema:
    return _subset(NEWEST_LINE)


# --- the loader ---------------------------------------------------------------------------


def test_loader_knows_exactly_the_files_in_the_package() -> None:
    subscriptions = {p.name for p in PACKAGE.joinpath("subscriptions").iterdir() if p.name.endswith(".graphql")}
    documents = {p.name for p in PACKAGE.joinpath("documents").iterdir() if p.name.endswith(".graphql")}
    assert subscriptions == {f"{subscription_file(event)}.graphql" for event in SUBSCRIPTION_EVENTS}
    assert documents == {f"{name}.graphql" for name in DOCUMENT_NAMES}
    assert load_subscription("transaction_initialize_session") == load_subscription("TRANSACTION_INITIALIZE_SESSION")
    assert load_document("app_id.graphql") == load_document("app_id")
    assert re.search(r"query AppId\s*{\s*app\s*{\s*id\s*}\s*}", load_document("app_id"))
    with pytest.raises(KeyError):
        load_subscription("ORDER_FULFILLED")
    with pytest.raises(KeyError):
        load_document("../subscriptions/invoice_requested")


# --- documents against the subsets -------------------------------------------------------


def test_every_file_sent_is_covered() -> None:
    sent = _sent_by_the_app()
    assert set(_all_documents().values()) <= set(sent.values())  # shared queries come by the manifest
    assert {name for name in sent if name.startswith("manifest/")}


@pytest.mark.parametrize(("line", "name"), _sent_to_each_line())
def test_document_validates_against_the_subset(line: str, name: str) -> None:
    errors = validate(_subset(line), parse(_sent_by_the_app(line)[name]))
    assert not errors, _explain(f"the {line} schema subset", errors)


def _explain(refuser: str, errors: Any) -> str:
    messages = "; ".join(e.message.rstrip(".") for e in errors)
    return (
        f"{refuser} refuses it: {messages}. The app must work on every line from {OLDEST_LINE} to the "
        "newest: use a form both schemas accept (e.g. OrderDiscount.amount, not total), then regenerate "
        "the subsets with `python -m tests.fakes.schema_subset_tool` (README: Supported Saleor versions)."
    )


def test_a_field_in_only_one_line_is_caught() -> None:
    """`OrderDiscount.total` came in 3.21: the 3.20 subset (what the fake Saleor behaving like 3.20
    executes) refuses it, so the check above fails for it; the upstream check shows the newest
    Saleor has it."""
    newer = _only_in_newer_lines()
    assert newer != load_document("order_for_invoice")
    assert validate(_subset(OLDEST_LINE), parse(newer))
    assert not validate(_subset(OLDEST_LINE), parse(load_document("order_for_invoice")))


def _only_in_newer_lines() -> str:
    return load_document("order_for_invoice").replace(
        "valueType value amount { ...MoneyFields }", "valueType value total { ...MoneyFields }"
    )


@pytest.mark.parametrize("name", sorted(NEWER_LINES_ONLY))
def test_newer_line_documents_are_refused_by_the_oldest(name: str) -> None:
    """Why they are kept from 3.20: its subset (the fake 3.20) refuses them, the newest takes them
    (the upstream check below proves the same of the real schemas)."""
    assert validate(_subset(OLDEST_LINE), parse(load_document(name)))
    assert not validate(_subset(NEWEST_LINE), parse(load_document(name)))
    assert name not in documents_for_line(OLDEST_LINE)
    assert name in documents_for_line(NEWEST_LINE)


def test_version_names_its_schema_line() -> None:
    assert schema_line_of("3.20.119") == schema_line_of("3.20") == OLDEST_LINE
    assert schema_line_of("3.23.28") == schema_line_of("3.24.0-a.0") == NEWEST_LINE
    with pytest.raises(KeyError):
        subset_sdl("2.0")


def _camel_to_event(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).upper()


@pytest.mark.parametrize("event", SUBSCRIPTION_EVENTS)
def test_subscription_shape(subset: GraphQLSchema, event: str) -> None:
    """One `subscription { event { … } }` per file, for its own event, with recipient id and version."""
    document = parse(load_subscription(event))
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1
    assert operations[0].operation.value == "subscription"
    roots = operations[0].selection_set.selections
    assert len(roots) == 1
    assert isinstance(roots[0], FieldNode)
    assert roots[0].name.value == "event"
    assert roots[0].selection_set is not None
    conditions = [
        _camel_to_event(s.type_condition.name.value)
        for s in roots[0].selection_set.selections
        if isinstance(s, InlineFragmentNode) and s.type_condition
    ]
    assert conditions == [event]
    text = load_subscription(event)
    assert re.search(r"recipient\s*{\s*id\b", text)
    assert re.search(r"\bissuedAt\b", text)
    assert re.search(r"\bversion\b", text)


def test_session_subscriptions_carry_what_an_invoice_needs() -> None:
    for event in ("TRANSACTION_INITIALIZE_SESSION", "TRANSACTION_PROCESS_SESSION"):
        text = load_subscription(event)
        for needle in (
            "idempotencyKey" if event.startswith("TRANSACTION_INITIALIZE") else "merchantReference",
            "action { amount currency actionType }",
            "pspReference",
            "token",
            "quantity",
            "totalPrice",
            "shippingPrice",
            "discount",
            "email",
            "userEmail",
            "firstName",
            "slug",
            "net { ...MoneyFields }",
            "tax { ...MoneyFields }",
        ):
            assert needle in text, (event, needle)
    invoice = load_subscription("INVOICE_REQUESTED")
    for needle in ("invoice { id number", "productName", "variantName", "productSku", "undiscountedTotal"):
        assert needle in invoice


# --- the subset agrees with the real schema, field for field ----------------------------


def _default(value: Any) -> Any:
    return None if value is Undefined else value


def _disagreements(subset: GraphQLSchema, real_schema: GraphQLSchema) -> list[str]:
    """Where a subset differs from the full schema it was cut from (empty when it is a true copy)."""
    problems: list[str] = []
    for name, mine in subset.type_map.items():
        if name.startswith("__"):
            continue
        real = real_schema.type_map.get(name)
        if real is None:
            problems.append(f"{name}: not in the real schema")
            continue
        if type(real) is not type(mine):
            problems.append(f"{name}: {type(mine).__name__} here, {type(real).__name__} in Saleor")
            continue
        if isinstance(mine, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(real, GraphQLObjectType | GraphQLInterfaceType)
            real_interfaces = {i.name for i in real.interfaces}
            problems += [
                f"{name} implements {i.name}: not in Saleor" for i in mine.interfaces if i.name not in real_interfaces
            ]
            for field_name, field in mine.fields.items():
                real_field = real.fields.get(field_name)
                if real_field is None:
                    problems.append(f"{name}.{field_name}: not in Saleor")
                    continue
                if str(field.type) != str(real_field.type):
                    problems.append(f"{name}.{field_name}: {field.type} here, {real_field.type} in Saleor")
                for arg_name, arg in field.args.items():
                    real_arg = real_field.args.get(arg_name)
                    if real_arg is None:
                        problems.append(f"{name}.{field_name}({arg_name}): not in Saleor")
                    elif str(arg.type) != str(real_arg.type) or _default(arg.default_value) != _default(
                        real_arg.default_value
                    ):
                        problems.append(f"{name}.{field_name}({arg_name}): {arg.type} here, {real_arg.type} in Saleor")
                for arg_name, real_arg in real_field.args.items():
                    required = isinstance(real_arg.type, GraphQLNonNull) and real_arg.default_value is Undefined
                    if required and arg_name not in field.args:
                        problems.append(f"{name}.{field_name}: required argument {arg_name} missing")
        elif isinstance(mine, GraphQLInputObjectType):
            assert isinstance(real, GraphQLInputObjectType)
            for field_name, field in mine.fields.items():
                real_field = real.fields.get(field_name)
                if real_field is None or str(field.type) != str(real_field.type):
                    problems.append(f"input {name}.{field_name}: differs from Saleor")
            for field_name, real_field in real.fields.items():
                required = isinstance(real_field.type, GraphQLNonNull) and real_field.default_value is Undefined
                if required and field_name not in mine.fields:
                    problems.append(f"input {name}: required field {field_name} missing")
        elif isinstance(mine, GraphQLEnumType):
            assert isinstance(real, GraphQLEnumType)
            problems += [f"enum {name}.{v}: not in Saleor" for v in mine.values if v not in real.values]
        elif isinstance(mine, GraphQLUnionType):
            assert isinstance(real, GraphQLUnionType)
            real_members = {t.name for t in real.types}
            problems += [
                f"union {name} member {t.name}: not in Saleor" for t in mine.types if t.name not in real_members
            ]
        else:
            assert isinstance(mine, GraphQLScalarType)
    return problems


@pytest.mark.shared
def test_subsets_match_the_upstream_schemas() -> None:
    """For each line: the subset agrees field for field with the full upstream schema, is exactly
    what the tool cuts from it for today's documents (a changed document must come with
    regenerated subsets: `python -m tests.fakes.schema_subset_tool`), and everything the app and
    the storefront example send validates against the full schema too. One test, so a plain
    clone skips exactly one check."""
    shared_refs.require_upstream_schemas()
    storefront = {f"storefront/{k}": d for k, d in storefront_documents().items()}
    for line in SCHEMA_LINES:
        documents = {**_sent_by_the_app(line), **storefront}
        real = _real(line)
        assert _disagreements(_subset(line), real) == [], line
        generated = schema_subset_tool.build_subset(real, schema_subset_tool.all_documents(line), line)
        assert generated == subset_sdl(line), (
            f"the {line} subset is stale: run python -m tests.fakes.schema_subset_tool"
        )
        for name, text in documents.items():
            errors = validate(real, parse(text))
            assert not errors, _explain(f"Saleor {line} ({name})", errors)
        manifest = build_manifest(load_settings(app_public_url="https://pay.example.com"), line)
        assert manifest_problems(manifest, real) == [], line
    # the check tells the lines apart: a field added in 3.21 is refused by 3.20 only
    assert [line for line in SCHEMA_LINES if validate(_real(line), parse(_only_in_newer_lines()))] == [OLDEST_LINE]
    # and the documents kept from 3.20 (NEWER_LINES_ONLY) are refused by the real 3.20 only
    for name in NEWER_LINES_ONLY:
        assert [line for line in SCHEMA_LINES if validate(_real(line), parse(load_document(name)))] == [OLDEST_LINE]


def test_subset_rejects_what_saleor_would(subset: GraphQLSchema) -> None:
    """The subset is strict: unknown fields, and the OrderOrCheckout conflict of the captures README."""
    assert validate(subset, parse("query { app { id name } }"))
    conflict = """
      subscription { event { ... on TransactionInitializeSession { sourceObject {
        ... on Checkout { chargeStatus } ... on Order { chargeStatus } } } } }
    """
    errors = validate(subset, parse(conflict))
    assert errors
    assert "chargeStatus" in errors[0].message
