"""Request limits and production hardening for the GraphQL schema.

Every operation is checked before anything runs: tokens while parsing, nesting depth and alias
count while validating, page sizes (``first``/``last``) just before execution. A request over a
limit fails with ``extensions.code`` ``LIMIT_EXCEEDED`` and nothing is resolved.

Why not strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter``? Both build a new rule
class per extension instance, so with per-request extensions the validation rules differ on
every request and strawberry's ``ValidationCache`` never hits; and their errors carry no code.
Ours are built once per :class:`GraphQLLimits` value, so repeated documents skip parsing and
validation (strawberry's ``ParserCache`` and ``ValidationCache`` do the caching). Token counting
stays graphql-core's (``parse(max_tokens=...)``); we only give its error our code.

:func:`harden` derives the schema an app serves from the module's schema: production answers
without introspection and without "Did you mean ...?" suggestions; development keeps both for
GraphiQL. The limits apply in both.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import strawberry
from graphql.error import GraphQLError
from graphql.execution import ExecutionResult
from graphql.language import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.utilities import get_operation_ast
from graphql.validation import (
    ASTValidationRule,
    NoSchemaIntrospectionCustomRule,
    ValidationRule,
)
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache

from twinmesh.errors import GraphQLParseFailed, LimitExceeded

# Arguments that size a page of a connection or list.
PAGE_ARGUMENTS = frozenset({"first", "last"})

_SUGGESTION = re.compile(r"\s*Did you mean .*\?\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class GraphQLLimits:
    """How large one GraphQL request may be."""

    max_depth: int = 10
    """Nested field levels, counted through fragments. Introspection fields and a
    connection's ``edges``/``node`` levels do not count."""
    max_aliases: int = 30
    """Aliased fields in one document."""
    max_tokens: int = 2000
    """Lexical tokens in one document (graphql-core stops parsing past this)."""
    max_page_size: int = 500
    """The largest ``first``/``last`` argument, whether literal, variable or default."""
    cache_size: int = 256
    """Parsed and validated documents kept per process (least recently used go first)."""


def limit_error(message: str, limit: str, maximum: int, *nodes: Any) -> GraphQLError:
    """A request error with the ``LIMIT_EXCEEDED`` code and which limit was hit."""
    return GraphQLError(
        message,
        list(nodes) or None,
        extensions={"code": LimitExceeded.code, "limit": limit, "maximum": maximum},
    )


def without_suggestion(error: GraphQLError) -> GraphQLError:
    """The error without graphql-core's "Did you mean ...?" hint (which leaks schema names)."""
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
    )


# --- depth -----------------------------------------------------------------------------------


def selection_depth(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    memo: dict[str, int],
    visiting: frozenset[str] = frozenset(),
    *,
    in_edges: bool = False,
) -> int:
    """Field levels below ``selection_set``; each fragment is measured once (no blow-up).

    A connection's ``edges { node { ... } }`` adds no levels of its own: depth measures hops
    through the graph, and Relay's plumbing would otherwise spend three levels per hop.
    """
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue  # introspection is switched on or off as a whole, not by depth
            plumbing = name == "edges" or (in_edges and name == "node")
            below = selection_depth(
                selection.selection_set, fragments, memo, visiting, in_edges=name == "edges"
            )
            depth = below if plumbing and selection.selection_set else 1 + below
        elif isinstance(selection, InlineFragmentNode):
            depth = selection_depth(
                selection.selection_set, fragments, memo, visiting, in_edges=in_edges
            )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in visiting or name not in fragments:
                continue  # cycles and unknown fragments are reported by the standard rules
            if name not in memo:
                memo[name] = selection_depth(
                    fragments[name].selection_set, fragments, memo, visiting | {name}
                )
            depth = memo[name]
        else:  # pragma: no cover - graphql-core has no other selection kinds
            continue
        deepest = max(deepest, depth)
    return deepest


class DepthLimitRule(ValidationRule):
    """Rejects operations nested deeper than ``max_depth`` field levels."""

    max_depth: ClassVar[int] = GraphQLLimits().max_depth

    def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
        fragments = {
            d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)
        }
        memo: dict[str, int] = {}
        for definition in node.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            depth = selection_depth(definition.selection_set, fragments, memo)
            if depth > self.max_depth:
                name = f"'{definition.name.value}'" if definition.name else "the operation"
                self.report_error(
                    limit_error(
                        f"{name[0].upper()}{name[1:]} is nested {depth} levels deep;"
                        f" the limit is {self.max_depth}.",
                        "depth",
                        self.max_depth,
                        definition,
                    )
                )
        return self.SKIP


# --- aliases ---------------------------------------------------------------------------------


class AliasLimitRule(ValidationRule):
    """Rejects documents with more than ``max_aliases`` aliased fields."""

    max_aliases: ClassVar[int] = GraphQLLimits().max_aliases

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.aliases = 0

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.alias is not None:
            self.aliases += 1

    def leave_document(self, node: DocumentNode, *_args: Any) -> None:
        if self.aliases > self.max_aliases:
            self.report_error(
                limit_error(
                    f"The document has {self.aliases} aliases; the limit is {self.max_aliases}.",
                    "aliases",
                    self.max_aliases,
                )
            )


@functools.cache
def validation_rules(limits: GraphQLLimits, *, introspection: bool) -> tuple[type[Any], ...]:
    """The extra rules for these limits: the same classes every time, so validation caches."""
    depth = type("DepthLimitRule", (DepthLimitRule,), {"max_depth": limits.max_depth})
    aliases = type("AliasLimitRule", (AliasLimitRule,), {"max_aliases": limits.max_aliases})
    rules: tuple[type[ASTValidationRule], ...] = (depth, aliases)
    if not introspection:
        rules += (NoSchemaIntrospectionCustomRule,)
    return rules


# --- page size -------------------------------------------------------------------------------


def oversized_pages(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    max_page_size: int,
) -> Iterator[tuple[ArgumentNode, int]]:
    """Every ``first``/``last`` argument of the operation (fragments included) over the limit."""
    defaults = {
        d.variable.name.value: int(d.default_value.value)
        for d in operation.variable_definitions or ()
        if isinstance(d.default_value, IntValueNode)
    }
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    pending: list[SelectionSetNode] = [operation.selection_set]
    seen_fragments: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen_fragments and name in fragments:
                    seen_fragments.add(name)
                    pending.append(fragments[name].selection_set)
                continue
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    value = page_size(argument, variables, defaults)
                    if value is not None and value > max_page_size:
                        yield argument, value
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)


def page_size(
    argument: ArgumentNode, variables: Mapping[str, Any], defaults: Mapping[str, int]
) -> int | None:
    """The page size a ``first``/``last`` argument asks for, if it is one and is known."""
    if argument.name.value not in PAGE_ARGUMENTS:
        return None
    value: Any = None
    if isinstance(argument.value, IntValueNode):
        value = int(argument.value.value)
    elif isinstance(argument.value, VariableNode):
        name = argument.value.name.value
        value = variables.get(name, defaults.get(name))
    return value if isinstance(value, int) else None


# --- the extension ---------------------------------------------------------------------------


class RequestLimits(SchemaExtension):
    """Applies :class:`GraphQLLimits` to one operation; ``hide_suggestions`` for production."""

    def __init__(self, limits: GraphQLLimits, *, introspection: bool, hide_suggestions: bool):
        super().__init__()
        self.limits = limits
        self.rules = validation_rules(limits, introspection=introspection)
        self.hide_suggestions = hide_suggestions

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.limits.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        try:
            yield
        except GraphQLError as error:
            # With ParserCache, a parse error leaves through the extension hooks.
            if f"Document contains more than {self.limits.max_tokens} tokens" in error.message:
                raise limit_error(
                    f"The document has more than {self.limits.max_tokens} tokens.",
                    "tokens",
                    self.limits.max_tokens,
                ) from error
            if error.message.startswith("Syntax Error") and not (error.extensions or {}).get(
                "code"
            ):
                raise GraphQLError(
                    error.message,
                    error.nodes,
                    error.source,
                    error.positions,
                    error.path,
                    extensions={**(error.extensions or {}), "code": GraphQLParseFailed.code},
                ) from error
            raise
        result = context.result
        if self.hide_suggestions and result is not None and result.errors:
            result.errors = [without_suggestion(e) for e in result.errors]

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document else None
        if document is not None and operation is not None:
            errors = [
                limit_error(
                    f"'{argument.name.value}: {value}' asks for too large a page;"
                    f" the limit is {self.limits.max_page_size}.",
                    "pageSize",
                    self.limits.max_page_size,
                    argument,
                )
                for argument, value in oversized_pages(
                    document, operation, context.variables or {}, self.limits.max_page_size
                )
            ]
            if errors:
                context.result = ExecutionResult(data=None, errors=errors)
        yield


def harden(base: strawberry.Schema, *, dev: bool, limits: GraphQLLimits) -> strawberry.Schema:
    """The schema an app serves: ``base``'s types and extensions plus limits and caches.

    A shallow copy, so the types, resolvers and the graphql-core schema are shared with
    ``base`` and nothing a later change adds to ``base`` is lost.
    """
    served = copy.copy(base)
    served.config = dataclasses.replace(base.config, disable_field_suggestions=not dev)
    served.extensions = (
        *base.extensions,
        # Before the caches: the token limit is a parse option and the rules a cache key.
        lambda: RequestLimits(limits, introspection=dev, hide_suggestions=not dev),
        lambda: ParserCache(maxsize=limits.cache_size),
        lambda: ValidationCache(maxsize=limits.cache_size),
    )
    return served
