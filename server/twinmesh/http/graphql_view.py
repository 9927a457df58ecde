"""``/graphql`` over HTTP, as the GraphQL-over-HTTP spec describes it.

https://graphql.github.io/graphql-over-http/draft/ — the behaviour, in short:

- ``POST`` with ``Content-Type: application/json`` (UTF-8) executes queries and mutations.
  Any other request body type (form, multipart, text/plain, none) gets 415; a JSON array
  (batching) gets 400; bodies over 1 MiB get 413.
- ``GET`` never executes anything: 405 with ``Allow: POST`` (queries in URLs end up in logs,
  caches and referrers, and GET invites cross-site requests). In development a browser's
  ``GET`` (``Accept: text/html``) gets GraphiQL; in production it gets 404.
- The response media type follows ``Accept``: ``application/graphql-response+json`` when the
  client accepts it, ``application/json`` for legacy clients, ``*/*`` or no ``Accept``; 406 when
  neither is acceptable.
- Status codes: 200 whenever execution started (even with field errors or ``data: null``).
  A malformed request (bad JSON, missing or mistyped parameters) or a request error (parse,
  validation, a limit, variable coercion, unknown operation) has no ``data`` entry and gets 400
  under ``application/graphql-response+json`` and 200 under ``application/json``, as the spec
  asks for each.

Why not strawberry's ASGI view? It answers only ``application/json`` and with 200 for request
errors (its own spec tests mark those audits as expected failures), and it folds content-type,
batching and GET decisions into one ``run`` method that cannot be adjusted piecewise. This
endpoint keeps strawberry for what it is good at, ``Schema.execute``, and owns only the HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from twinmesh import errors
from twinmesh.graphql.context import RequestContext
from twinmesh.graphql.errors import unexpected_error_extensions

log = logging.getLogger("twinmesh.http")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# Most preferred first: on equal quality the spec's own media type wins.
SUPPORTED_MEDIA_TYPES = (GRAPHQL_RESPONSE_JSON, JSON)
MAX_BODY_BYTES = 1024 * 1024

ContextGetter = Callable[[Request], Awaitable[RequestContext]]
# Renders GraphiQL for a browser's GET; None in production.
BAD_REQUEST_CODE = errors.BadRequest.code

PageRenderer = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    """A request refused before execution, with a fixed HTTP status (405, 406, 413, 415, 400)."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class MalformedRequest(BadRequest):
    """A body that is not a well-formed GraphQL request (bad JSON, missing or mistyped params).

    400 under ``application/graphql-response+json``; 200 with ``errors`` under legacy
    ``application/json``, as the spec's audits ask (e.g. 2163 and D477).
    """

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


@dataclass(frozen=True, slots=True)
class GraphQLParams:
    """The four request parameters of the spec, type-checked."""

    query: str
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None


def _media_ranges(header: str) -> list[tuple[str, float]]:
    """``Accept`` as (media range, quality) pairs; parameters other than ``q`` are ignored."""
    ranges = []
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return ranges


def negotiate(accept: str | None) -> str | None:
    """The response media type for this ``Accept`` header, or None when nothing fits (406)."""
    if accept is None or not accept.strip():
        return JSON  # legacy clients send no Accept; the spec says assume application/json
    best: tuple[float, int, str] | None = None
    for media, quality in _media_ranges(accept):
        if quality <= 0:
            continue
        if media in SUPPORTED_MEDIA_TYPES:
            candidate = (quality, 2 - SUPPORTED_MEDIA_TYPES.index(media), media)
        elif media in ("*/*", "application/*"):
            candidate = (quality, 0, JSON)  # a wildcard means application/json (audit 47DE)
        else:
            continue
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else None


def accepts_html(request: Request) -> bool:
    return any(
        media == "text/html"
        for media, q in _media_ranges(request.headers.get("accept", ""))
        if q > 0
    )


async def read_body(request: Request) -> bytes:
    """The request body, refusing more than :data:`MAX_BODY_BYTES` (413) without buffering it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequest(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def check_content_type(request: Request) -> None:
    """Only ``application/json`` in UTF-8 (the spec's required body type) is accepted."""
    header = request.headers.get("content-type")
    if header is None:
        raise BadRequest(415, "Send the request as Content-Type: application/json.")
    media, *params = (p.strip() for p in header.split(";"))
    if media.lower() != JSON:
        raise BadRequest(415, f"Unsupported Content-Type {media!r}; send application/json.")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise BadRequest(415, "Request bodies must be encoded as UTF-8.")


def parse_params(body: bytes) -> GraphQLParams:
    if not body:
        raise MalformedRequest("The request body is empty; send a JSON object with a query.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest("The request body is not valid JSON.") from exc
    if isinstance(data, list):
        # Refused outright (never 200), whatever the Accept: batching multiplies the cost of
        # one request and is off by design (SECURITY.md item 29).
        raise BadRequest(400, "Batching is not supported; send one operation per request.")
    if not isinstance(data, dict):
        raise MalformedRequest("The request body must be a JSON object.")
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise MalformedRequest("The 'query' parameter must be a non-empty string.")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise MalformedRequest("The 'operationName' parameter must be a string or null.")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise MalformedRequest("The 'variables' parameter must be an object or null.")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise MalformedRequest("The 'extensions' parameter must be an object or null.")
    return GraphQLParams(query, operation_name, variables, extensions)


def is_request_error(result: ExecutionResult) -> bool:
    """Execution never started: no data, and no error belongs to a field (they have a path)."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def bearer_challenge(error: errors.TwinmeshError) -> dict[str, str]:
    """RFC 6750: no credentials -> a bare challenge; bad ones -> ``invalid_token``."""
    if not isinstance(error, errors.Unauthenticated):
        return {}
    missing = getattr(error, "reason", None) == "missing_token"
    return {"WWW-Authenticate": "Bearer" if missing else 'Bearer error="invalid_token"'}


def error_body(message: str, **extensions: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if extensions:
        error["extensions"] = extensions
    return {"errors": [error]}


def json_response(
    body: Mapping[str, Any], status: int, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=dict(headers or {}),
    )


class GraphQLEndpoint:
    """The ASGI app behind ``/graphql`` (every HTTP method comes here, so every answer is ours)."""

    def __init__(
        self,
        schema: strawberry.Schema,
        get_context: ContextGetter,
        *,
        graphiql: PageRenderer | None = None,
    ) -> None:
        self.schema = schema
        self.get_context = get_context
        self.graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and accepts_html(request):
            if self.graphiql is None:
                return Response("Not Found", status_code=404, media_type="text/plain")
            return await self.graphiql(request)
        media_type = negotiate(request.headers.get("accept"))
        try:
            if request.method != "POST":
                raise BadRequest(
                    405, "GraphQL operations are accepted only by POST.", {"Allow": "POST"}
                )
            if media_type is None:
                raise BadRequest(406, f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}.")
            check_content_type(request)
            params = parse_params(await read_body(request))
            return await self.execute(request, params, media_type)
        except BadRequest as exc:
            status = exc.status
            if isinstance(exc, MalformedRequest) and media_type == JSON:
                status = 200
            body = error_body(exc.message, code=BAD_REQUEST_CODE)
            return json_response(body, status, media_type or JSON, exc.headers)
        except Exception as exc:
            extensions = unexpected_error_extensions(exc, "serving /graphql")
            return json_response(
                error_body("Unexpected error.", **extensions), 500, media_type or JSON
            )

    async def execute(self, request: Request, params: GraphQLParams, media_type: str) -> Response:
        try:
            context = await self.get_context(request)
        except errors.TwinmeshError as exc:  # no or bad credentials, a disabled tenant
            return self.refused(exc, media_type)
        try:
            result = await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types={OperationType.QUERY, OperationType.MUTATION},
                operation_extensions=params.extensions,
            )
        except CannotGetOperationTypeError as exc:
            return self.request_error(exc.as_http_error_reason(), media_type)
        except InvalidOperationTypeError as exc:
            return self.request_error(exc.as_http_error_reason("POST"), media_type)

        result_errors = result.errors or []
        body: dict[str, Any] = {}
        status = 200
        if is_request_error(result):
            if media_type == GRAPHQL_RESPONSE_JSON:
                internal = any(
                    (e.extensions or {}).get("code") == "INTERNAL" for e in result_errors
                )
                status = 500 if internal else 400
        else:
            body["data"] = result.data
        if result_errors:
            body["errors"] = [error.formatted for error in result_errors]
        if result.extensions:
            body["extensions"] = result.extensions
        return json_response(body, status, media_type)

    def refused(self, error: errors.TwinmeshError, media_type: str) -> Response:
        """An answer before execution for a caller who may not run operations here."""
        headers = bearer_challenge(error)
        log.info("request refused: %s", getattr(error, "reason", None) or error.code)
        body = error_body(error.message, code=error.code)
        return json_response(body, errors.mapping_for(error).http_status, media_type, headers)

    def request_error(self, message: str, media_type: str) -> Response:
        status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
        return json_response(error_body(message, code=BAD_REQUEST_CODE), status, media_type)
