"""Issuer signing keys: JWKS parsing with per-key algorithm pinning, and the per-issuer cache.

Why hand-written: authlib's RFC 9068 validator calls ``get_jwks()`` on every token and leaves
caching to the application (SECURITY.md §5.2), and neither authlib nor joserfc offers a JWKS
fetcher with the policy of §5.3. joserfc's ``KeySet`` is not used for lookup either: it lets the
token header choose the algorithm, while here every key gets exactly one algorithm when the JWKS
is read, from the JWK's ``kty``/``crv``/``alg`` (an EC P-256 key verifies ES256 and nothing
else; RSA without ``alg`` means RS256; ``oct`` keys are never usable), so HS256-with-a-public-key
confusion cannot even be expressed.

Cache policy (:class:`JwksCache`, one per issuer):

* keys are refetched when older than ``ttl`` (10 min) or when a token names an unknown ``kid``
  (the issuer published a new key; OIDC Core §10.1.1);
* fetches are single-flight (concurrent requests await one fetch) and start at most once per
  ``min_refresh_interval`` (60 s), so an unknown-kid flood costs the IdP one request a minute; a
  kid published less than that after our last fetch is refused until the interval has passed;
* stale-if-error: when a fetch fails, the last good keys keep serving until ``stale_cap`` (24 h)
  after the last *successful* fetch, then the cache fails closed (:class:`JwksUnavailable`);
* one fetch is bounded by ``fetch_timeout`` (2 s) overall and by ``max_bytes``; redirects are not
  followed. Token headers (``jku``, ``x5u``, ``jwk``) never influence what is fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from twinmesh.auth.compact import MalformedJws, b64url_decode, strict_json_object

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

#: Signature algorithms a verifier may be configured with (asymmetric only: no HS*, no none).
SUPPORTED_ALGORITHMS: Final = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    | {"EdDSA", "Ed25519"}
)
_EC_CURVES: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_RSA_ALGORITHMS: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_ED25519_ALGORITHMS: Final = ("EdDSA", "Ed25519")
#: Only public members are read from a JWK; a published private part is ignored.
_PUBLIC_MEMBERS: Final = frozenset(
    {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use", "key_ops"}
)
MIN_RSA_BITS: Final = 2048
MAX_KEYS: Final = 64

DEFAULT_TTL_S: Final = 600.0
DEFAULT_MIN_REFRESH_INTERVAL_S: Final = 60.0
DEFAULT_STALE_CAP_S: Final = 24 * 3600.0
DEFAULT_FETCH_TIMEOUT_S: Final = 2.0
DEFAULT_MAX_JWKS_BYTES: Final = 256 * 1024


class JwksUnavailable(Exception):
    """The issuer's keys are not known: never fetched successfully, or past the stale cap."""


class MalformedJwks(ValueError):
    """The document is not a JWK Set."""


@dataclass(frozen=True)
class VerificationKey:
    """One public key and the single algorithm it verifies."""

    kid: str
    algorithm: str
    key: Key


def pin_algorithm(jwk: Mapping[str, Any], allowed: frozenset[str] | tuple[str, ...]) -> str | None:
    """The one algorithm ``jwk`` may verify, or ``None`` if it is unusable for signatures.

    Decided from ``kty``/``crv`` and the optional ``alg``; an ``alg`` that contradicts the key
    type makes the key unusable rather than being trusted.
    """
    if jwk.get("use", "sig") != "sig":
        return None
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        return None
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if alg is not None and not isinstance(alg, str):
        return None
    pinned: str | None
    if kty == "EC" and isinstance(crv, str) and crv in _EC_CURVES:
        pinned = _EC_CURVES[crv]
        if alg is not None and alg != pinned:
            return None
    elif kty == "OKP" and crv == "Ed25519":
        if alg is not None:
            pinned = alg if alg in _ED25519_ALGORITHMS else None
        else:
            pinned = next((a for a in _ED25519_ALGORITHMS if a in allowed), None)
    elif kty == "RSA":
        pinned = "RS256" if alg is None else (alg if alg in _RSA_ALGORITHMS else None)
    else:  # oct, Ed448, secp256k1, unknown: never
        return None
    if pinned is None or pinned not in allowed or pinned not in SUPPORTED_ALGORITHMS:
        return None
    return pinned


def _import_public(jwk: Mapping[str, Any]) -> Key | None:
    public = {k: v for k, v in jwk.items() if k in _PUBLIC_MEMBERS}
    try:
        kty = public["kty"]
        if kty == "RSA":
            if not isinstance(public.get("n"), str):
                return None
            if len(b64url_decode(public["n"]).lstrip(b"\0")) * 8 < MIN_RSA_BITS:
                return None
            return RSAKey.import_key(public)
        if kty == "EC":
            return ECKey.import_key(public)
        if kty == "OKP":
            return OKPKey.import_key(public)
    except (JoseError, MalformedJws, ValueError, TypeError, KeyError):
        return None
    return None


def parse_jwks(
    document: Mapping[str, Any], allowed: frozenset[str] | tuple[str, ...]
) -> dict[str, VerificationKey]:
    """The usable signing keys of a JWK Set by ``kid``.

    Keys without a ``kid``, with an unusable type/algorithm, or that fail to import are skipped;
    a ``kid`` shared by two usable keys is ambiguous and both are dropped (fail closed).
    """
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise MalformedJwks("a JWK Set needs a 'keys' array")
    found: dict[str, VerificationKey] = {}
    ambiguous: set[str] = set()
    for jwk in keys[:MAX_KEYS]:
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        algorithm = pin_algorithm(jwk, allowed)
        if algorithm is None:
            continue
        key = _import_public(jwk)
        if key is None:
            continue
        if kid in found:
            ambiguous.add(kid)
        found[kid] = VerificationKey(kid=kid, algorithm=algorithm, key=key)
    for kid in ambiguous:
        del found[kid]
    return found


class StaticKeys:
    """Keys configured inline (e.g. the development issuer): no fetching, never stale."""

    def __init__(self, document: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        self._keys = parse_jwks(document, allowed)

    async def get(self, kid: str) -> VerificationKey | None:
        return self._keys.get(kid)

    async def refresh(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class JwksCache:
    """The current keys of one issuer, fetched from its ``jwks_uri`` (policy: module docstring).

    ``client`` is shared and owned by the caller (inject an ``httpx.AsyncClient`` with a
    ``MockTransport`` in tests); ``clock`` returns seconds and is injectable so tests move time
    instead of sleeping.
    """

    def __init__(
        self,
        jwks_uri: str,
        *,
        algorithms: tuple[str, ...],
        client: httpx.AsyncClient,
        clock: Clock = time.monotonic,
        ttl: float = DEFAULT_TTL_S,
        min_refresh_interval: float = DEFAULT_MIN_REFRESH_INTERVAL_S,
        stale_cap: float = DEFAULT_STALE_CAP_S,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_JWKS_BYTES,
    ) -> None:
        if not 0 < fetch_timeout <= DEFAULT_FETCH_TIMEOUT_S:
            raise ValueError(f"fetch_timeout must be in (0, {DEFAULT_FETCH_TIMEOUT_S}] seconds")
        if not 0 < ttl <= stale_cap or min_refresh_interval < 0:
            raise ValueError("need 0 < ttl <= stale_cap and min_refresh_interval >= 0")
        self.jwks_uri = jwks_uri
        self._algorithms = algorithms
        self._client = client
        self._clock = clock
        self._ttl = ttl
        self._min_refresh_interval = min_refresh_interval
        self._stale_cap = stale_cap
        self._fetch_timeout = fetch_timeout
        self._max_bytes = max_bytes
        self._keys: dict[str, VerificationKey] | None = None
        self._last_success: float | None = None
        self._last_attempt: float | None = None
        self._inflight: asyncio.Task[None] | None = None

    async def get(self, kid: str) -> VerificationKey | None:
        """The key named ``kid``, or ``None`` if the issuer does not (currently) publish it.

        Raises :class:`JwksUnavailable` when no keys are known that may still be trusted.
        """
        if self._wants_fetch(kid):
            if self._inflight is None and self._may_fetch():
                self._start_fetch()
            if self._inflight is not None:
                # shield: a cancelled request must not cancel the fetch the others await.
                await asyncio.shield(self._inflight)
        return self._lookup(kid)

    async def refresh(self) -> None:
        """Fetch now (or join the fetch in flight), ignoring TTL and rate limit: for warm-up."""
        if self._inflight is None:
            self._start_fetch()
        assert self._inflight is not None
        await asyncio.shield(self._inflight)

    async def aclose(self) -> None:
        task, self._inflight = self._inflight, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _wants_fetch(self, kid: str) -> bool:
        if self._keys is None or self._last_success is None:
            return True
        if self._clock() - self._last_success >= self._ttl:
            return True
        return kid not in self._keys

    def _may_fetch(self) -> bool:
        return (
            self._last_attempt is None
            or self._clock() - self._last_attempt >= self._min_refresh_interval
        )

    def _start_fetch(self) -> None:
        self._last_attempt = self._clock()
        task = asyncio.create_task(self._fetch(), name=f"jwks-fetch {self.jwks_uri}")
        self._inflight = task

        def _clear(done: asyncio.Task[None]) -> None:
            if self._inflight is done:
                self._inflight = None

        task.add_done_callback(_clear)

    def _lookup(self, kid: str) -> VerificationKey | None:
        if self._keys is None or self._last_success is None:
            raise JwksUnavailable(self.jwks_uri)
        if self._clock() - self._last_success >= self._stale_cap:
            logger.error(
                "JWKS %s: no successful fetch for %.0f s; refusing its keys",
                self.jwks_uri,
                self._stale_cap,
            )
            self._keys = None
            raise JwksUnavailable(self.jwks_uri)
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        """One fetch; never raises (failures keep the previous keys, see the policy)."""
        try:
            async with asyncio.timeout(self._fetch_timeout):
                document = await self._download()
            keys = parse_jwks(document, self._algorithms)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # network, HTTP status, size, JSON, JWK Set shape
            logger.warning(
                "JWKS %s fetch failed (%s); keeping %s",
                self.jwks_uri,
                type(exc).__name__,
                "no keys" if self._keys is None else f"{len(self._keys)} cached key(s)",
            )
            return
        if not keys:
            logger.warning("JWKS %s has no usable signing key", self.jwks_uri)
        self._keys = keys
        self._last_success = self._clock()

    async def _download(self) -> dict[str, Any]:
        headers = {"Accept": "application/jwk-set+json, application/json"}
        async with self._client.stream(
            "GET",
            self.jwks_uri,
            headers=headers,
            timeout=self._fetch_timeout,
            follow_redirects=False,
        ) as response:
            if response.status_code != httpx.codes.OK:
                raise MalformedJwks(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise MalformedJwks("JWKS too large")
        try:
            return strict_json_object(bytes(body))
        except MalformedJws as exc:
            raise MalformedJwks(str(exc)) from exc
