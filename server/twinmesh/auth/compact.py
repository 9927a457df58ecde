"""JWS Compact Serialization, parsed strictly and verified with one pinned algorithm.

Why this is hand-written instead of ``joserfc.jws.deserialize_compact`` (or authlib's
``JWTBearerTokenValidator``, SECURITY.md §5.2): those take the algorithm from the token header
and then *check* it against an allow-list, honour header extensions (``b64``/RFC 7797, ``crit``),
emit a ``SecurityWarning`` for every EdDSA verification (joserfc 1.8 deprecates ``EdDSA`` after
RFC 9864), and parse JSON leniently (duplicate members: last one wins). Here the caller passes
the one algorithm it pinned from the JWK, the header is only *compared* with it, no extension is
honoured, and duplicate JSON members are a parse error. The cryptography itself — key import,
ECDSA/RSA/EdDSA sign and verify, the key/algorithm compatibility check — is joserfc's
(:class:`joserfc.jws.JWSRegistry` algorithm models) over ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from joserfc.errors import JoseError
from joserfc.jwk import Key
from joserfc.jws import JWSRegistry

#: Whole-token cap: access tokens are a few hundred bytes; this bounds parsing work.
MAX_TOKEN_BYTES: Final = 8 * 1024

_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")


class MalformedJws(ValueError):
    """The value is not a compact JWS of two JSON objects and a signature."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    """Unpadded base64url only (RFC 7515 §2); padding or other alphabets are malformed."""
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise MalformedJws("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedJws("not base64url") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedJws(f"duplicate member {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise MalformedJws(f"non-JSON number {name}")


def strict_json_object(data: bytes) -> dict[str, Any]:
    """A UTF-8 JSON object without duplicate members or NaN/Infinity."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except MalformedJws:
        raise
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError, int digit limit
        raise MalformedJws("not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedJws("not a JSON object")
    return value


@dataclass(frozen=True)
class CompactJws:
    """The decoded, *unverified* parts of a compact JWS."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_compact(token: str) -> CompactJws:
    """Split and decode ``header.payload.signature``; nothing is verified yet."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise MalformedJws("not three non-empty segments")
    header_segment, payload_segment, signature_segment = parts
    return CompactJws(
        header=strict_json_object(b64url_decode(header_segment)),
        claims=strict_json_object(b64url_decode(payload_segment)),
        signing_input=f"{header_segment}.{payload_segment}".encode("ascii"),
        signature=b64url_decode(signature_segment),
    )


def verify_signature(jws: CompactJws, key: Key, algorithm: str) -> bool:
    """Whether ``jws`` carries a valid ``algorithm`` signature by ``key``.

    ``algorithm`` is the one pinned for ``key`` by the caller, never the header's; joserfc's
    ``check_key`` additionally refuses a key of the wrong type, curve, ``use`` or ``alg``.
    """
    model = JWSRegistry.algorithms[algorithm]
    try:
        model.check_key(key)
        return model.verify(jws.signing_input, jws.signature, key)
    except (JoseError, ValueError, TypeError):
        return False


def sign_compact(header: dict[str, Any], claims: dict[str, Any], key: Key, algorithm: str) -> str:
    """Sign ``claims`` with a private ``key``: the issuing side (development issuer, tests)."""
    full_header = {**header, "alg": algorithm}
    header_segment = b64url_encode(json.dumps(full_header, separators=(",", ":")).encode())
    payload_segment = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    model = JWSRegistry.algorithms[algorithm]
    model.check_key(key)
    signature = model.sign(signing_input, key)
    return f"{header_segment}.{payload_segment}.{b64url_encode(signature)}"
