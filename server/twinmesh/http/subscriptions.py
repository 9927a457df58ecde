"""WebSocket ``/graphql``: subscriptions over the ``graphql-transport-ws`` protocol.

Strawberry's ASGI view speaks the protocol; this subclass authenticates the connection: the
access token travels in the ``connection_init`` payload (``{"authorization": "Bearer ..."}``)
and is verified exactly like an HTTP request's, before the connection is acknowledged. A
missing, forged or expired token closes the socket with 4403 (SECURITY.md item 40). Only
subscriptions run here; queries and mutations use ``POST /graphql``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from twinmesh.errors import TwinmeshError
from twinmesh.graphql.context import RequestContext

ConnectionContext = Callable[[str | None, WebSocket], Awaitable[RequestContext]]


class SocketContext:
    """The context of one WebSocket: empty until the connection is authenticated, then the
    authenticated caller's :class:`RequestContext` (attributes are delegated to it)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.connection_params: dict[str, Any] = {}
        self.inner: RequestContext | None = None

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)


class SubscriptionsView(GraphQL[Any, None]):
    def __init__(self, schema: Schema, connect: ConnectionContext) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self._connect = connect

    async def get_context(self, request: Request | WebSocket, response: Any) -> Any:
        assert isinstance(request, WebSocket)
        return SocketContext(request)

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        params = context.connection_params if isinstance(context, SocketContext) else {}
        authorization = params.get("authorization") or params.get("Authorization")
        try:
            context.inner = await self._connect(
                authorization if isinstance(authorization, str) else None, context.websocket
            )
        except TwinmeshError:
            raise ConnectionRejectionError from None
        return await super().on_ws_connect(context)
