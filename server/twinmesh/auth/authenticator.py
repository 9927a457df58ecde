"""From an ``Authorization`` header to the caller's principal, for a tenant this server serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from twinmesh.auth.errors import InvalidToken
from twinmesh.auth.principal import Principal
from twinmesh.auth.tokens import TokenVerifier
from twinmesh.errors import Forbidden

TenantState = Callable[[str], Awaitable[bool | None]]


class TenantDisabled(Forbidden):
    """A valid token of a disabled tenant; ``principal`` says whose (for the audit log)."""

    def __init__(self, principal: Principal) -> None:
        super().__init__("This tenant is disabled; ask the platform administrator.")
        self.principal = principal


class Authenticator:
    """Verifies the token, then checks that its tenant is served and enabled.

    ``served`` answers, for a tenant id, True (served), False (disabled) or None (unknown).
    With ``any_tenant`` (the development issuer is trusted) tenants need not be declared, but
    a disabled one stays closed.
    """

    def __init__(
        self, verifier: TokenVerifier, served: TenantState, *, any_tenant: bool = False
    ) -> None:
        self.verifier = verifier
        self._served = served
        self._any_tenant = any_tenant

    async def authenticate(self, authorization: str | None) -> Principal:
        principal = await self.verifier.authenticate(authorization)
        enabled = await self._served(principal.tenant)
        if enabled is None and not self._any_tenant:
            raise InvalidToken("unknown_tenant")
        if enabled is False:
            raise TenantDisabled(principal)
        return principal

    async def serves(self, tenant: str) -> bool:
        """Whether requests of ``tenant`` are served (known, or any in development, and
        enabled)."""
        enabled = await self._served(tenant)
        return enabled is True or (enabled is None and self._any_tenant)

    async def start(self) -> None:
        """Fetch the issuers' keys ahead of the first request (failures are retried later)."""
        await self.verifier.prefetch()

    async def close(self) -> None:
        await self.verifier.aclose()
