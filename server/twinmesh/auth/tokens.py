"""Verification of OAuth 2.0 JWT access tokens (RFC 9068) from a set of trusted issuers.

Why hand-written instead of authlib's ``JWTBearerTokenValidator`` (SECURITY.md §5.2): authlib
accepts a token with **no** ``typ`` (RFC 9068 §4 and RFC 8725 §3.11 require ``at+jwt``; an ID
token must not pass as an access token), rejects every EdDSA token because no ``algorithms=`` is
passed to joserfc, offers no leeway setting, lets the header pick the algorithm from an
allow-list, and fetches keys through an uncached ``get_jwks()``. The steps below follow RFC 9068
§4 with those gaps closed; signatures are checked by joserfc's algorithm models
(:mod:`twinmesh.auth.compact`), keys come from :mod:`twinmesh.auth.jwks`.

Order of checks (each failure is :class:`~twinmesh.auth.errors.InvalidToken` with one generic
message and a private ``reason``):

1. size cap, then three base64url segments of strict JSON (no duplicate members);
2. header: ``typ`` is ``at+jwt`` or ``application/at+jwt`` (case-insensitive), no ``crit``/
   ``b64``/``zip``, ``alg`` is an asymmetric algorithm (never ``none``/HS*), ``kid`` is a
   non-empty string. ``jku``/``x5u``/``x5c``/``jwk`` are ignored — never fetched, never used;
3. the (still unverified) ``iss`` selects the issuer by **exact** string match; ``kid`` is only
   ever a key into that issuer's in-memory key map (no file, database or URL is derived from it);
4. the key's pinned algorithm must equal the header ``alg``; the signature must verify;
5. claims: ``exp`` (required), ``nbf`` (optional) and ``iat`` (required) against the clock with
   a leeway (:data:`DEFAULT_LEEWAY_S` = 60 s, configurable): rejected when
   ``now >= exp + leeway``, ``now < nbf - leeway`` or ``iat > now + leeway``; ``aud`` (string
   or array) contains the issuer's audience; ``sub``, ``client_id``, ``jti`` are non-empty
   strings; the tenant is the issuer's ``fixed_tenant`` (a token naming another tenant is
   refused) or else the ``tenant_claim``, which must be a tenant id; roles are an optional
   array of strings.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import httpx

from twinmesh.auth.compact import MAX_TOKEN_BYTES, MalformedJws, parse_compact, verify_signature
from twinmesh.auth.errors import InvalidToken
from twinmesh.auth.jwks import (
    DEFAULT_FETCH_TIMEOUT_S,
    DEFAULT_MIN_REFRESH_INTERVAL_S,
    DEFAULT_STALE_CAP_S,
    DEFAULT_TTL_S,
    SUPPORTED_ALGORITHMS,
    Clock,
    JwksCache,
    JwksUnavailable,
    StaticKeys,
    VerificationKey,
)
from twinmesh.auth.principal import Principal
from twinmesh.domain.twins import validate_tenant_id
from twinmesh.errors import ValidationFailed

#: Clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (SECURITY.md checklist item 22: ≤ 60 s).
DEFAULT_LEEWAY_S: Final = 60.0
MAX_LEEWAY_S: Final = 300.0
ACCESS_TOKEN_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})
DEFAULT_ALGORITHMS: Final = ("ES256", "RS256", "EdDSA")
#: Header parameters that would change how the JWS is processed; we implement none of them.
_UNSUPPORTED_HEADERS: Final = frozenset({"crit", "b64", "zip", "enc"})
_BEARER_RE: Final = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9._~+/-]+=*)")


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted token issuer (authorisation server).

    Exactly one of ``jwks_uri`` (fetched and cached) and ``jwks`` (an inline JWK Set) is given.
    ``algorithms`` limits which pinned key algorithms are usable. ``fixed_tenant`` dedicates the
    issuer to one tenant; otherwise the tenant is read from the ``tenant_claim`` claim.
    """

    issuer: str
    audience: str
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    tenant_claim: str = "tenant"
    fixed_tenant: str | None = None
    roles_claim: str = "roles"

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ValueError("an issuer needs a non-empty issuer and audience")
        if (self.jwks_uri is None) == (self.jwks is None):
            raise ValueError(f"issuer {self.issuer}: give exactly one of jwks_uri and jwks")
        if self.jwks_uri is not None:
            _check_jwks_uri(self.jwks_uri)
        if not self.algorithms or not set(self.algorithms) <= SUPPORTED_ALGORITHMS:
            raise ValueError(
                f"issuer {self.issuer}: algorithms must be a non-empty subset of "
                f"{sorted(SUPPORTED_ALGORITHMS)} (no HS*, no none)"
            )
        if self.fixed_tenant is not None and not _is_tenant_id(self.fixed_tenant):
            raise ValueError(f"issuer {self.issuer}: fixed_tenant is not a tenant id")
        if not self.tenant_claim or not self.roles_claim:
            raise ValueError(f"issuer {self.issuer}: claim names must not be empty")


def _is_tenant_id(value: str) -> bool:
    try:
        validate_tenant_id(value)
    except ValidationFailed:
        return False
    return True


def _check_jwks_uri(uri: str) -> None:
    """HTTPS only, except plain HTTP to a loopback host (local IdPs and tests)."""
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        if parts.hostname == "localhost":
            return
        try:
            if ip_address(parts.hostname).is_loopback:
                return
        except ValueError:
            pass
    raise ValueError(f"jwks_uri must be https (or http to a loopback host): {uri!r}")


class KeySource(Protocol):
    async def get(self, kid: str) -> VerificationKey | None: ...

    async def refresh(self) -> None: ...

    async def aclose(self) -> None: ...


def parse_bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value (RFC 6750 §2.1)."""
    if authorization is None or not authorization.strip():
        raise InvalidToken("missing_token")
    match = _BEARER_RE.fullmatch(authorization.strip())
    if match is None:
        raise InvalidToken("bad_scheme")
    return match.group(1)


class TokenVerifier:
    """Verifies RFC 9068 access tokens of the configured issuers and returns a :class:`Principal`.

    ``http_client`` fetches remote JWKS; when omitted the verifier creates (and
    :meth:`aclose` closes) one with a 2 s timeout. ``clock`` returns Unix time in seconds and
    drives both the claim checks and the JWKS cache timers (inject one in tests).
    """

    def __init__(
        self,
        issuers: Iterable[IssuerConfig],
        *,
        http_client: httpx.AsyncClient | None = None,
        leeway: float = DEFAULT_LEEWAY_S,
        clock: Clock = time.time,
        jwks_ttl: float = DEFAULT_TTL_S,
        jwks_min_refresh_interval: float = DEFAULT_MIN_REFRESH_INTERVAL_S,
        jwks_stale_cap: float = DEFAULT_STALE_CAP_S,
        max_token_bytes: int = MAX_TOKEN_BYTES,
    ) -> None:
        if not 0 <= leeway <= MAX_LEEWAY_S:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY_S} seconds")
        self._leeway = leeway
        self._clock = clock
        self._max_token_bytes = max_token_bytes
        configs = list(issuers)
        names = [c.issuer for c in configs]
        if duplicates := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"issuer(s) configured twice: {', '.join(duplicates)}")
        # A client is only needed (and only created, and then owned) for remote key sets.
        self._owns_client = http_client is None and any(c.jwks_uri for c in configs)
        self._client = http_client
        if self._owns_client:
            self._client = httpx.AsyncClient(
                timeout=DEFAULT_FETCH_TIMEOUT_S, follow_redirects=False
            )
        self._issuers: dict[str, IssuerConfig] = {}
        self._keys: dict[str, KeySource] = {}
        for config in configs:
            self._issuers[config.issuer] = config
            source: KeySource
            if config.jwks is not None:
                source = StaticKeys(config.jwks, config.algorithms)
            else:
                assert config.jwks_uri is not None
                assert self._client is not None
                source = JwksCache(
                    config.jwks_uri,
                    algorithms=config.algorithms,
                    client=self._client,
                    clock=clock,
                    ttl=jwks_ttl,
                    min_refresh_interval=jwks_min_refresh_interval,
                    stale_cap=jwks_stale_cap,
                )
            self._keys[config.issuer] = source

    @property
    def issuers(self) -> tuple[str, ...]:
        return tuple(self._issuers)

    @property
    def leeway(self) -> float:
        return self._leeway

    async def authenticate(self, authorization: str | None) -> Principal:
        """Verify the bearer token of an ``Authorization`` header value."""
        return await self.verify(parse_bearer(authorization))

    async def verify(self, token: str) -> Principal:
        """The principal of a valid access token; :class:`InvalidToken` otherwise."""
        if not token:
            raise InvalidToken("missing_token")
        if len(token) > self._max_token_bytes:
            raise InvalidToken("token_too_large")
        try:
            jws = parse_compact(token)
        except MalformedJws as exc:
            raise InvalidToken("malformed") from exc
        header, claims = jws.header, jws.claims

        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("bad_typ")
        if _UNSUPPORTED_HEADERS & header.keys():
            raise InvalidToken("unsupported_header")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
            raise InvalidToken("alg_not_allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("missing_kid")

        iss = claims.get("iss")
        config = self._issuers.get(iss) if isinstance(iss, str) else None
        if config is None:
            raise InvalidToken("unknown_issuer")
        if alg not in config.algorithms:
            raise InvalidToken("alg_not_allowed")
        try:
            key = await self._keys[config.issuer].get(kid)
        except JwksUnavailable as exc:
            raise InvalidToken("jwks_unavailable") from exc
        if key is None:
            raise InvalidToken("unknown_kid")
        if key.algorithm != alg:
            raise InvalidToken("alg_mismatch")
        if not verify_signature(jws, key.key, key.algorithm):
            raise InvalidToken("bad_signature")

        try:
            self._check_times(claims)
            self._check_audience(claims, config.audience)
            subject = _required_string(claims, "sub")
            client_id = _required_string(claims, "client_id")
            token_id = _required_string(claims, "jti")
            return Principal(
                tenant=_tenant(claims, config),
                subject=subject,
                roles=_roles(claims, config.roles_claim),
                client_id=client_id,
                kind="service" if subject == client_id else "user",
                token_id=token_id,
            )
        except InvalidToken as refused:
            # The issuer's signature holds, so the failure is attributable to the tenant the
            # token names (and is audited there); unsigned garbage never is.
            with contextlib.suppress(InvalidToken):
                refused.tenant = _tenant(claims, config)
            sub = claims.get("sub")
            refused.subject = sub if isinstance(sub, str) else None
            raise

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        exp = _numeric_date(claims, "exp")
        iat = _numeric_date(claims, "iat")
        nbf = _numeric_date(claims, "nbf")
        if exp is None or iat is None:
            raise InvalidToken("missing_claim")
        if now >= exp + self._leeway:
            raise InvalidToken("expired")
        if nbf is not None and now < nbf - self._leeway:
            raise InvalidToken("not_yet_valid")
        if iat > now + self._leeway:
            raise InvalidToken("iat_in_future")

    @staticmethod
    def _check_audience(claims: Mapping[str, Any], audience: str) -> None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if (
            not isinstance(audiences, list)
            or not all(isinstance(a, str) for a in audiences)
            or audience not in audiences
        ):
            raise InvalidToken("bad_audience")

    async def prefetch(self) -> None:
        """Fetch every remote key set now (call at start-up); failures are logged, not raised."""
        for source in self._keys.values():
            await source.refresh()

    async def aclose(self) -> None:
        for source in self._keys.values():
            await source.aclose()
        if self._owns_client and self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> TokenVerifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim as seconds, ``None`` if absent; anything else is refused."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken("missing_claim")
    try:
        number = float(value)
    except OverflowError as exc:  # an integer beyond float range
        raise InvalidToken("missing_claim") from exc
    if not math.isfinite(number):
        raise InvalidToken("missing_claim")
    return number


def _required_string(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidToken("missing_claim")
    return value


def _tenant(claims: Mapping[str, Any], config: IssuerConfig) -> str:
    claimed = claims.get(config.tenant_claim)
    if config.fixed_tenant is not None:
        if claimed is not None and claimed != config.fixed_tenant:
            raise InvalidToken("tenant_mismatch")
        return config.fixed_tenant
    if not isinstance(claimed, str) or not _is_tenant_id(claimed):
        raise InvalidToken("bad_tenant")
    return claimed


def _roles(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    value = claims.get(name)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(r, str) and r for r in value):
        raise InvalidToken("bad_roles")
    return frozenset(value)
