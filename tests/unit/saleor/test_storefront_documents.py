"""Issue #9: the storefront example's GraphQL documents, extracted from its script, are valid
against the schema subset of every tested Saleor line (what the fake Saleor executes); that they
are valid against the full upstream schemas too is part of test_schema_subset's upstream check."""

from __future__ import annotations

import pytest
from graphql import build_schema, parse, validate

from saleor_coinpayments.saleor.schema import SCHEMA_LINES, subset_sdl
from tests.fakes.schema_subset_tool import storefront_documents

EXPECTED = {
    "StorefrontProducts",
    "StorefrontCheckoutCreate",
    "StorefrontDeliveryMethod",
    "StorefrontGatewayInitialize",
    "StorefrontTransactionInitialize",
    "StorefrontTransactionProcess",
    "StorefrontCheckoutComplete",
}


def test_every_step_of_the_example_is_extracted() -> None:
    assert set(storefront_documents()) == EXPECTED


@pytest.mark.parametrize("line", SCHEMA_LINES)
def test_the_documents_validate_against_the_fake_saleor(line: str) -> None:
    schema = build_schema(subset_sdl(line))
    for name, document in storefront_documents().items():
        assert [e.message for e in validate(schema, parse(document))] == [], (line, name)
