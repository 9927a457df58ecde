"""From an ``Authorization`` header to the caller's principal, for a tenant this server serves."""

from __future__ import annotations

from collections.abc import Mapping

from twinmesh.auth.errors import InvalidToken
from twinmesh.auth.principal import Principal
from twinmesh.auth.tokens import TokenVerifier
from twinmesh.errors import Forbidden


class Authenticator:
    """Verifies the token, then checks that its tenant is served and enabled.

    ``served`` maps tenant ids to whether they are enabled. With ``any_tenant`` (the development
    issuer is trusted) tenants need not be declared, but a declared, disabled one stays closed.
    """

    def __init__(
        self, verifier: TokenVerifier, served: Mapping[str, bool], *, any_tenant: bool = False
    ) -> None:
        self.verifier = verifier
        self._served = dict(served)
        self._any_tenant = any_tenant

    async def authenticate(self, authorization: str | None) -> Principal:
        principal = await self.verifier.authenticate(authorization)
        enabled = self._served.get(principal.tenant)
        if enabled is None and not self._any_tenant:
            raise InvalidToken("unknown_tenant")
        if enabled is False:
            raise Forbidden("This tenant is disabled; ask the platform administrator.")
        return principal

    async def start(self) -> None:
        """Fetch the issuers' keys ahead of the first request (failures are retried later)."""
        await self.verifier.prefetch()

    async def close(self) -> None:
        await self.verifier.aclose()
