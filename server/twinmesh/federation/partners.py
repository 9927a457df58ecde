"""The partner registry: who our partners are, where they are, and their public keys.

Partners come from the settings file and from the platform API (kept in the store, so every
replica knows them; a record in the store overrides the settings for the same org). Each
partner's keys are pinned in its record, or fetched from its ``/.well-known/twinmesh/keys``:

* a key id is resolved only through this registry (``<org>:<kid>``), never from a URL in the
  request (SECURITY.md §1.1);
* an unknown kid of a known partner triggers at most one fetch per partner per
  ``refresh_interval_s`` (single-flight; SECURITY.md item 9): a flood of random key ids costs
  no outbound request each;
* a fetch waits at most ``fetch_timeout_s`` (item 14); while the partner's endpoint is down the
  keys already fetched keep working, each until its own ``notAfter``;
* the keys a partner is known by are exactly its pinned keys, or those of its last successful
  fetch: a key withdrawn from the pinned set or no longer published (a revocation: rotation
  keeps old keys published until they end) stops resolving once the registry re-reads its
  partners or fetches again, and a removed partner's keys go with it. Key lookups re-read the
  partners first (every ``RECORD_TTL_S``), so a cached key is not trusted past a change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from twinmesh.config import PartnerSettings
from twinmesh.domain import PartnerRecord
from twinmesh.errors import ValidationFailed
from twinmesh.federation.signatures import PartnerKey
from twinmesh.identity import KeyringError, OrgKey, public_key_from_jwk
from twinmesh.store.port import GraphStore

log = logging.getLogger("twinmesh.federation")

KEYS_PATH = "/.well-known/twinmesh/keys"
RECORD_TTL_S = 5.0
REFRESH_INTERVAL_S = 30.0
FETCH_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner organisation as this server deals with it."""

    org: str
    base_url: str
    tenants: frozenset[str]  # our tenants it may query
    remote_tenant: str | None  # its tenant our fan-out queries address
    timeout_s: float
    keys_url: str
    pinned: tuple[PartnerKey, ...] | None
    source: Literal["settings", "api"]

    @classmethod
    def of(cls, settings: PartnerSettings, source: Literal["settings", "api"]) -> Partner:
        base = settings.base_url.rstrip("/")
        pinned = None
        if settings.keys is not None:
            pinned = tuple(partner_key(settings.org, jwk) for jwk in settings.keys)
        return cls(
            org=settings.org,
            base_url=base,
            tenants=frozenset(settings.tenants),
            remote_tenant=settings.remote_tenant,
            timeout_s=settings.timeout_s,
            keys_url=settings.keys_url or base + KEYS_PATH,
            pinned=pinned,
            source=source,
        )


def partner_key(org: str, jwk: dict[str, Any]) -> PartnerKey:
    """A partner's public key from its published JWK; ``ValidationFailed`` if malformed."""
    try:
        key: OrgKey = public_key_from_jwk(jwk)
    except KeyringError as exc:
        raise ValidationFailed(f"A key of partner {org!r} is not usable: {exc}") from None
    return PartnerKey(
        key_id=f"{org}:{key.kid}",
        org=org,
        public=key.public,
        not_before=key.not_before,
        not_after=key.not_after,
    )


def partner_settings(document: dict[str, Any]) -> PartnerSettings:
    try:
        return PartnerSettings.model_validate(document)
    except ValueError as exc:
        raise ValidationFailed(f"The partner settings are not valid: {exc}") from None


class PartnerRegistry:
    """Partners from settings and store, and a cache of their keys."""

    def __init__(
        self,
        store: GraphStore,
        declared: Sequence[PartnerSettings] = (),
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
        fetch_timeout_s: float = FETCH_TIMEOUT_S,
    ) -> None:
        self.store = store
        self._declared = {p.org: Partner.of(p, "settings") for p in declared}
        self._http = http
        self._clock = clock
        self.refresh_interval_s = refresh_interval_s
        self.fetch_timeout_s = fetch_timeout_s
        self._partners: dict[str, Partner] = dict(self._declared)
        self._loaded_at = -1e9
        self._keys: dict[str, PartnerKey] = {}  # what resolve() answers: see _index_keys
        self._fetched: dict[str, tuple[PartnerKey, ...]] = {}  # per org, the last good fetch
        self._fetched_at: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0  # key-endpoint requests made (tests count them)

    # -- partners ----------------------------------------------------------------------------

    async def partners(self) -> dict[str, Partner]:
        if self._clock() - self._loaded_at >= RECORD_TTL_S:
            merged = dict(self._declared)
            for record in await self.store.list_partners():
                try:
                    merged[record.org] = Partner.of(partner_settings(record.settings), "api")
                except ValidationFailed:
                    log.warning("ignoring the unusable stored record of partner %s", record.org)
            self._partners, self._loaded_at = merged, self._clock()
            self._index_keys()
        return self._partners

    def _index_keys(self) -> None:
        """Index the keys of current partners only: pinned, else last fetched."""
        self._keys = {
            key.key_id: key
            for partner in self._partners.values()
            for key in (
                partner.pinned if partner.pinned is not None else self._fetched.get(partner.org, ())
            )
        }

    async def get(self, org: str) -> Partner | None:
        return (await self.partners()).get(org)

    def forget_cache(self) -> None:
        """Read the store again on the next lookup (after an API change on this replica)."""
        self._loaded_at = -1e9

    # -- keys --------------------------------------------------------------------------------

    def resolve(self, key_id: str) -> PartnerKey | None:
        """A cached key by its wire key id (``<org>:<kid>``); never fetches."""
        return self._keys.get(key_id)

    async def ensure_key(self, key_id: str) -> None:
        """Make ``key_id`` resolvable if its partner publishes it, within the fetch budget."""
        partners = await self.partners()  # current partners and pinned keys first
        if key_id in self._keys:
            return
        partner = partners.get(key_id.split(":", 1)[0])
        if partner is None or partner.pinned is not None:
            return
        await self.refresh(partner)

    async def refresh(self, partner: Partner) -> None:
        """Fetch the partner's published keys, at most once per interval (single-flight)."""
        lock = self._locks.setdefault(partner.org, asyncio.Lock())
        async with lock:
            last = self._fetched_at.get(partner.org)
            if last is not None and self._clock() - last < self.refresh_interval_s:
                return
            self._fetched_at[partner.org] = self._clock()
            self.fetches += 1
            try:
                keys = await asyncio.wait_for(self._fetch(partner), self.fetch_timeout_s)
            except (TimeoutError, httpx.HTTPError, ValueError, ValidationFailed) as exc:
                log.warning("cannot fetch the keys of partner %s: %s", partner.org, exc)
                return
            self._fetched[partner.org] = tuple(keys)
            self._index_keys()

    async def _fetch(self, partner: Partner) -> list[PartnerKey]:
        client = self._http or httpx.AsyncClient()
        try:
            response = await client.get(partner.keys_url, timeout=self.fetch_timeout_s)
            response.raise_for_status()
            document = response.json()
        finally:
            if self._http is None:
                await client.aclose()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("the key document has no keys list")
        return [partner_key(partner.org, jwk) for jwk in document["keys"]]

    # -- administration (platform administrators, through TenantAccess) ----------------------

    def declared(self, org: str) -> bool:
        return org in self._declared

    @staticmethod
    def record(settings: PartnerSettings) -> PartnerRecord:
        return PartnerRecord(settings.org, settings.model_dump(mode="json"))
