"""Regenerates the schema subsets in `saleor_coinpayments/saleor/schema/` from the real Saleor schemas.

    python -m tests.fakes.schema_subset_tool

One subset per tested Saleor line: `subset.graphql` from the full upstream schema of the newest
line and `subset-3.20.graphql` from that of the oldest supported (saleor/saleor's
saleor/graphql/schema.graphql at the refs tests/shared_refs.py names, read from the shared folder
it finds; without them the tool stops and says which file to fetch). Each holds exactly what
the app's documents and subscriptions (and the fake Saleor's own test reads in
tests/fakes/saleor_graphql/, and the storefront example's documents, marked /* GraphQL */ in
examples/storefront/storefront.js) select: those types, those fields, those arguments, with that
line's real types; enums and input objects whole. The output is committed;
`tests/unit/saleor/test_schema_subset.py` proves each still agrees with its real schema.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    ast_from_value,
    build_schema,
    get_named_type,
    parse,
    print_ast,
    visit,
)

from saleor_coinpayments.saleor.schema import (
    NEWER_LINES_ONLY,
    OLDEST_LINE,
    SCHEMA_LINES,
    SUBSCRIPTION_EVENTS,
    load_subscription,
)
from tests import shared_refs

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "saleor_coinpayments" / "saleor"
OUTPUTS = {"3.20": PACKAGE / "schema" / "subset-3.20.graphql", "newest": PACKAGE / "schema" / "subset.graphql"}
STANDARD_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


STOREFRONT_SCRIPT = REPO / "examples" / "storefront" / "storefront.js"
_MARKED_DOCUMENT = re.compile(r"/\* GraphQL \*/ `([^`]*)`")


def storefront_documents() -> dict[str, str]:
    """The storefront example's GraphQL documents (marked `/* GraphQL */` in its script), by operation name."""
    found = _MARKED_DOCUMENT.findall(STOREFRONT_SCRIPT.read_text(encoding="utf-8"))
    named = {}
    for document in found:
        match = re.search(r"\b(?:query|mutation)\s+(\w+)", document)
        assert match, f"an unnamed storefront document: {document[:80]}"
        named[match.group(1)] = document
    return named


def all_documents(line: str = "newest") -> list[str]:
    """Every document one line's subset is made from: the files of `document_paths` (less those the
    app sends only to newer lines, for the oldest), every event's subscription as the manifest
    carries it (some share a file) and the storefront's."""
    skipped = NEWER_LINES_ONLY if line == OLDEST_LINE else frozenset()
    files = [path.read_text(encoding="utf-8") for path in document_paths() if path.stem not in skipped]
    subscriptions = [load_subscription(event) for event in SUBSCRIPTION_EVENTS]
    return files + subscriptions + list(storefront_documents().values())


def document_paths() -> list[Path]:
    return sorted(
        [
            *(PACKAGE / "subscriptions").glob("*.graphql"),
            *(PACKAGE / "documents").glob("*.graphql"),
            *(REPO / "tests" / "fakes" / "saleor_graphql").glob("*.graphql"),
        ]
    )


class _Collector(Visitor):
    def __init__(self, info: TypeInfo, used: dict[str, dict[str, set[str]]], named: set[str]) -> None:
        super().__init__()
        self.info = info
        self.used = used
        self.named = named

    def enter_field(self, node, *_args):  # type: ignore[no-untyped-def]
        parent = self.info.get_parent_type()
        field = self.info.get_field_def()
        if parent is None or field is None or node.name.value.startswith("__"):
            return
        args = self.used.setdefault(parent.name, {}).setdefault(node.name.value, set())
        args.update(arg.name.value for arg in node.arguments or ())
        self.named.add(get_named_type(field.type).name)

    def enter_inline_fragment(self, node, *_args):  # type: ignore[no-untyped-def]
        if node.type_condition:
            self.named.add(node.type_condition.name.value)

    def enter_fragment_definition(self, node, *_args):  # type: ignore[no-untyped-def]
        self.named.add(node.type_condition.name.value)

    def enter_variable_definition(self, node, *_args):  # type: ignore[no-untyped-def]
        type_node = node.type
        while hasattr(type_node, "type"):
            type_node = type_node.type
        self.named.add(type_node.name.value)

    def enter_operation_definition(self, node, *_args):  # type: ignore[no-untyped-def]
        root = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}
        self.named.add(root[node.operation.value])


def _default(arg: GraphQLArgument) -> str:
    from graphql.pyutils import Undefined

    if arg.default_value is Undefined:
        return ""
    value = ast_from_value(arg.default_value, arg.type)
    return f" = {print_ast(value)}" if value is not None else ""


def build_subset(real: GraphQLSchema, documents: list[str], line: str = "newest") -> str:
    used: dict[str, dict[str, set[str]]] = {}
    named: set[str] = set()
    for text in documents:
        info = TypeInfo(real)
        visit(parse(text), TypeInfoVisitor(info, _Collector(info, used, named)))

    # close over: union members, interface fields of implementers, input/enum/scalar types
    changed = True
    while changed:
        changed = False
        for name in sorted(named):
            gtype = real.type_map[name]
            extra: set[str] = set()
            if isinstance(gtype, GraphQLUnionType):
                extra.update(member.name for member in gtype.types)
            if isinstance(gtype, GraphQLInputObjectType):
                extra.update(get_named_type(f.type).name for f in gtype.fields.values())
            if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType):
                for field_name, args in used.get(name, {}).items():
                    field = gtype.fields[field_name]
                    extra.add(get_named_type(field.type).name)
                    extra.update(get_named_type(field.args[a].type).name for a in args)
                for interface in gtype.interfaces:
                    if interface.name in named:
                        for field_name, args in used.get(interface.name, {}).items():
                            mine = used.setdefault(name, {}).setdefault(field_name, set())
                            if not args <= mine:
                                mine.update(args)
                                changed = True
            if isinstance(gtype, GraphQLInterfaceType):
                # implementers that documents select need the interface's fields (handled above)
                pass
            new = extra - named
            if new:
                named.update(new)
                changed = True
        # a union member or object reached only through a union still needs one field
        for name in named:
            gtype = real.type_map[name]
            if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType) and not used.get(name):
                if "id" in gtype.fields:
                    used.setdefault(name, {})["id"] = set()
                    changed = True

    blocks: list[str] = []
    for name in sorted(named, key=lambda n: (_order(real.type_map[n]), n)):
        gtype: GraphQLNamedType = real.type_map[name]
        if name in STANDARD_SCALARS:
            continue
        if isinstance(gtype, GraphQLScalarType):
            blocks.append(f"scalar {name}")
        elif isinstance(gtype, GraphQLEnumType):
            values = "\n".join(f"  {value}" for value in gtype.values)
            blocks.append(f"enum {name} {{\n{values}\n}}")
        elif isinstance(gtype, GraphQLInputObjectType):
            lines = []
            for field_name, field in gtype.fields.items():
                default = ""
                if field.default_value is not None and field.default_value is not _undefined():
                    node = ast_from_value(field.default_value, field.type)
                    default = f" = {print_ast(node)}" if node is not None else ""
                lines.append(f"  {field_name}: {field.type}{default}")
            blocks.append(f"input {name} {{\n" + "\n".join(lines) + "\n}")
        elif isinstance(gtype, GraphQLUnionType):
            blocks.append(f"union {name} = " + " | ".join(member.name for member in gtype.types))
        elif isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType):
            keyword = "interface" if isinstance(gtype, GraphQLInterfaceType) else "type"
            interfaces = [i.name for i in gtype.interfaces if i.name in named]
            implements = f" implements {' & '.join(interfaces)}" if interfaces else ""
            lines = []
            for field_name in gtype.fields:  # keep Saleor's field order
                if field_name not in used.get(name, {}):
                    continue
                field = gtype.fields[field_name]
                args = [
                    f"{arg_name}: {arg.type}{_default(arg)}"
                    for arg_name, arg in field.args.items()
                    if arg_name in used[name][field_name]
                ]
                arg_text = f"({', '.join(args)})" if args else ""
                lines.append(f"  {field_name}{arg_text}: {field.type}")
            blocks.append(f"{keyword} {name}{implements} {{\n" + "\n".join(lines) + "\n}")
    source = "/".join(shared_refs.SCHEMA_PARTS_BY_LINE[line])
    header = (
        "# The subset of Saleor's GraphQL schema that saleor-coinpayments uses, copied field for field\n"
        f"# from {source} (Saleor line: {line}; types, nullability and arguments unchanged).\n"
        "# Regenerate with `python -m tests.fakes.schema_subset_tool`; tests/unit/saleor/\n"
        "# test_schema_subset.py checks it against the real schema.\n"
    )
    return header + "\n" + "\n\n".join(blocks) + "\n"


def _undefined() -> object:
    from graphql.pyutils import Undefined

    return Undefined


def _order(gtype: GraphQLNamedType) -> int:
    if gtype.name in {"Query", "Mutation", "Subscription"}:
        return 0
    if isinstance(gtype, GraphQLInterfaceType | GraphQLUnionType):
        return 1
    if isinstance(gtype, GraphQLObjectType):
        return 2
    if isinstance(gtype, GraphQLInputObjectType):
        return 3
    if isinstance(gtype, GraphQLEnumType):
        return 4
    return 5


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    for line in SCHEMA_LINES:
        documents = all_documents(line)
        upstream = shared_refs.UPSTREAM_SCHEMAS[line]
        source = shared_refs.shared_path(*upstream.parts)
        if not source.exists():
            print(f"{source} is absent: fetch {upstream.fetch}", file=sys.stderr)
            return 1
        real = build_schema(source.read_text(encoding="utf-8"))
        OUTPUTS[line].write_text(build_subset(real, documents, line), encoding="utf-8")
        print(f"wrote {OUTPUTS[line].relative_to(REPO)} from {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
