"""The RFC 9421 signing profile of twinmesh federation: signed partner requests and answers.

A partner request is an RFC 9421 message signature (Ed25519, label ``tm``, ``tag`` :data:`TAG`)
over :data:`REQUEST_COMPONENTS`, with ``created``, ``expires`` (at most :data:`MAX_AGE` later),
a random ``nonce`` and ``keyid`` ``<org-id>:<kid>``; the body is bound by an RFC 9530
``Content-Digest`` (sha-256). An answer is signed over :data:`RESPONSE_COMPONENTS`, which bind
it to the request's signature, so a result is attributable to the partner that supplied it.

The ``http-message-signatures`` library builds the signature bases, signs and verifies with
Ed25519, creates and checks ``Content-Digest`` and selects the signature by tag. Written here,
because the library leaves it to its callers or does it differently:

* **Stable rejection reasons.** The library raises one ``InvalidSignature`` with free text; the
  profile's structural checks (one signature with our tag, known parameters, ``alg``, covered
  components, nonce) run first on the parsed ``Signature-Input`` (``http_sf``, the library's
  own parser) so that each failure has a :class:`SignatureRejected` ``reason``.
* **Size limits.** The library parses whatever headers it gets; oversized signature headers
  are refused before any parsing (checklist item 16).
* **The clock.** The library checks times against the wall clock with a 5 s skew and optional
  ``expires``; :func:`_check_times` applies our rules (``expires`` mandatory, lifetime ≤
  :data:`MAX_AGE`, skew :data:`MAX_SKEW`) against the caller's ``now``, also where the
  library asks (:class:`~.messages.OneKeyVerifier` takes over its hook).
* **Our authority.** The library derives ``@authority`` from the URL it is given, which the
  caller builds from our configured origin, so a request signed for another host fails. To
  report that as ``bad_authority`` rather than ``bad_signature``, a failed signature is tried
  once more against the ``Host`` header's authority: ``Host`` only names the failure, it never
  makes a request acceptable. A verified ``@authority`` is compared with ours as well.
* **URL normalisation** (:mod:`.messages`, with the library's adapters): ``@target-uri``
  does not depend on how a host or port is spelled; path and query are kept byte for byte.
* **Key binding.** Keys come only from the caller's :data:`KeyResolver` (our partner
  registry), are checked against their validity window at ``created`` and now, and for
  answers against the organisation we asked.

Replay detection is the caller's: :func:`verify_request` returns the nonce.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import http_sf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    InvalidSignature,
    MappingKeyResolver,
    VerifyResult,
    algorithms,
)

from twinmesh.federation.messages import (
    FieldLines,
    OneKeyVerifier,
    RequestMessage,
    ResponseMessage,
    binding_request,
    combined,
    component_identity,
    normalise_url,
    required_identity,
)
from twinmesh.identity import OrgKey

TAG: Final = "twinmesh-fed-v1"
SIGNATURE_LABEL: Final = "tm"
MAX_AGE: Final = timedelta(seconds=300)
MAX_SKEW: Final = timedelta(seconds=30)
MAX_SIGNATURE_HEADER_BYTES: Final = 8192
MIN_NONCE_LENGTH: Final = 16

TARGET_TENANT: Final = "twinmesh-target-tenant"
ON_BEHALF_OF: Final = "twinmesh-on-behalf-of"
REQUEST_ID: Final = "twinmesh-request-id"
HOPS: Final = "twinmesh-hops"
HOP_BUDGET: Final = "twinmesh-hop-budget"

REQUEST_COMPONENTS: Final = (
    "@method",
    "@authority",
    "@target-uri",
    "content-type",
    "content-digest",
    TARGET_TENANT,
    ON_BEHALF_OF,
    REQUEST_ID,
    HOPS,
    HOP_BUDGET,
    "traceparent",
)
RESPONSE_COMPONENTS: Final = (
    "@status",
    "content-type",
    "content-digest",
    '"@method";req',
    '"@target-uri";req',
    f'"signature";req;key="{SIGNATURE_LABEL}"',
)

Reason = Literal[
    "missing_signature",
    "malformed",
    "too_large",
    "unknown_key",
    "bad_signature",
    "digest_mismatch",
    "missing_components",
    "wrong_tag",
    "multiple_signatures",
    "expired",
    "not_yet_valid",
    "stale",
    "bad_authority",
    "alg_mismatch",
    "unknown_parameter",
    "key_not_valid",
    "missing_nonce",
]

_ALGORITHM: Final = algorithms.ED25519
_PARAMETER_TYPES: Final = {
    "created": int,
    "expires": int,
    "alg": str,
    "keyid": str,
    "nonce": str,
    "tag": str,
}
_MAX_AGE_S: Final = int(MAX_AGE.total_seconds())
_REQUEST_FIELDS: Final = tuple(  # the headers callers set; Content-Digest is added here
    name for name in REQUEST_COMPONENTS if not name.startswith("@") and name != "content-digest"
)
_SIGNED_HEADERS: Final = frozenset({"signature", "signature-input", "content-digest"})


class SignatureRejected(Exception):
    """A federation message's signature is not acceptable; ``reason`` says why.

    ``str(exc)`` is a short message for logs and the partner, never key material. Reasons:
    ``missing_signature`` (no signature headers), ``malformed`` (not parseable or wrongly
    typed), ``too_large`` (signature headers over :data:`MAX_SIGNATURE_HEADER_BYTES`),
    ``wrong_tag`` / ``multiple_signatures`` (not exactly one signature tagged :data:`TAG`),
    ``unknown_parameter``, ``alg_mismatch`` (``alg`` other than ``ed25519``),
    ``missing_nonce``, ``missing_components`` (the profile's components not all covered),
    ``not_yet_valid`` (``created`` beyond :data:`MAX_SKEW` ahead), ``stale`` (``created``
    missing or older than :data:`MAX_AGE`), ``expired`` (``expires`` missing, past, or more than
    :data:`MAX_AGE` after ``created``), ``unknown_key`` (keyid missing, unknown, or of another
    organisation than the one asked), ``key_not_valid`` (outside the key's window),
    ``bad_authority`` (signed for another host), ``bad_signature``, ``digest_mismatch``.
    """

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


@dataclass(frozen=True, slots=True)
class PartnerKey:
    """A partner's public key as our registry knows it; ``key_id`` is ``<org>:<kid>``."""

    key_id: str
    org: str
    public: Ed25519PublicKey
    not_before: datetime
    not_after: datetime

    def __post_init__(self) -> None:
        kid = self.key_id.removeprefix(f"{self.org}:")
        if not self.org or not kid or kid == self.key_id:
            raise ValueError(f"key id {self.key_id!r} is not '<org>:<kid>' for org {self.org!r}")
        if self.not_before.utcoffset() is None or self.not_after.utcoffset() is None:
            raise ValueError("a partner key's validity must be timezone-aware")
        if self.not_before > self.not_after:
            raise ValueError(f"key {self.key_id}: not_before is after not_after")

    def valid_at(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in ``[not_before, not_after]``."""
        return self.not_before <= moment <= self.not_after


KeyResolver = Callable[[str], PartnerKey | None]


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """What a verified partner request proves: who signed it, when, and its nonce."""

    org: str
    key_id: str
    nonce: str
    created: datetime
    expires: datetime
    signature: str  # the verified Signature member, e.g. "tm=:…:", to bind the answer to


def key_id_for(org: str, key: OrgKey) -> str:
    """The keyid on the wire for our ``key``: ``<org>:<kid>``."""
    return f"{org}:{key.kid}"


_CLAIMED_KEY_ID = re.compile(r'keyid="([^"]{1,200})"')


def claimed_key_id(signature_input: str) -> str | None:
    """The keyid a ``Signature-Input`` names, unverified: only for fetching the key before
    the signature is verified with it."""
    found = _CLAIMED_KEY_ID.search(signature_input[:MAX_SIGNATURE_HEADER_BYTES])
    return found.group(1) if found else None


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value of ``body`` (sha-256), e.g. ``sha-256=:…:``."""
    return ContentDigest.create(body)


# -- signing ------------------------------------------------------------------------------------


def sign_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    org: str,
    key: OrgKey,
    now: datetime | None = None,
    expires_in: timedelta = MAX_AGE,
) -> dict[str, str]:
    """``headers`` plus ``Content-Digest``, ``Signature-Input`` and ``Signature`` for a request.

    Every header of :data:`REQUEST_COMPONENTS` must be in ``headers`` (``ValueError``
    otherwise), so that the signature covers them all.
    """
    present = _check_headers_to_sign(headers)
    missing = [name for name in _REQUEST_FIELDS if name not in present]
    if missing:
        raise ValueError(f"a federation request needs the headers {', '.join(missing)}")
    if not timedelta(0) < expires_in <= MAX_AGE:
        raise ValueError(f"expires_in must be positive and at most {_MAX_AGE_S} s")
    message = RequestMessage(method=method, url=str(normalise_url(url)), headers=dict(headers))
    nonce = secrets.token_urlsafe(24)  # 192 bits
    return _sign(message, REQUEST_COMPONENTS, body, org, key, now, expires_in, nonce)


def sign_response(
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    request_method: str,
    request_url: str,
    request_signature: str,
    org: str,
    key: OrgKey,
    now: datetime | None = None,
) -> dict[str, str]:
    """``headers`` plus ``Content-Digest``, ``Signature-Input`` and ``Signature`` for an answer.

    ``request_signature`` is :attr:`VerifiedRequest.signature` (or the request's one-member
    ``Signature`` header); the answer covers it, the request's method and target URI.
    """
    present = _check_headers_to_sign(headers)
    if "content-type" not in present:
        raise ValueError("a federation answer needs a content-type header")
    label = _request_label(request_signature)
    request = binding_request(request_method, request_url, request_signature)
    message = ResponseMessage(status_code=status, headers=dict(headers), request=request)
    return _sign(message, _response_components(label), body, org, key, now, MAX_AGE, None)


def _sign(
    message: RequestMessage | ResponseMessage,
    components: Sequence[str],
    body: bytes,
    org: str,
    key: OrgKey,
    now: datetime | None,
    expires_in: timedelta,
    nonce: str | None,
) -> dict[str, str]:
    if key.private is None:
        raise ValueError(f"key {key.kid} has no private part and cannot sign")
    created = _now_or(now).replace(microsecond=0)
    if not key.valid_at(created):
        raise ValueError(f"key {key.kid} is not valid at {created.isoformat()}")
    key_id = key_id_for(org, key)
    signer = HTTPMessageSigner(
        signature_algorithm=_ALGORITHM,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key.private}),
    )
    try:
        signer.sign(
            message,
            key_id=key_id,
            created=created,
            expires=created + expires_in,
            nonce=nonce,
            label=SIGNATURE_LABEL,
            tag=TAG,
            covered_component_ids=components,
            body=body,
        )
    except HTTPMessageSignaturesException as exc:
        raise ValueError(f"the message cannot be signed: {exc}") from exc
    return dict(message.headers)


def _check_headers_to_sign(headers: Mapping[str, str]) -> set[str]:
    """The lower-cased names of ``headers``; ``ValueError`` for duplicates or signature fields."""
    names = [name.lower() for name in headers]
    if len(set(names)) != len(names):
        raise ValueError("headers must not repeat a name in different cases")
    if clash := _SIGNED_HEADERS.intersection(names):
        raise ValueError(f"headers must not contain {', '.join(sorted(clash))}; they are added")
    return set(names)


# -- verifying ----------------------------------------------------------------------------------


def verify_request(
    *,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]] | Mapping[str, str],
    body: bytes,
    resolve_key: KeyResolver,
    now: datetime | None = None,
) -> VerifiedRequest:
    """Verify a partner request against our profile; :class:`SignatureRejected` if it fails.

    ``url`` must be built from our configured public origin plus the raw path and query,
    never from the ``Host`` header. ``resolve_key`` is called once, with the keyid only.
    """
    moment, target, lines = _now_or(now), normalise_url(url), FieldLines(headers)
    checked = _check_profile(lines, REQUEST_COMPONENTS, moment, nonce_required=True)
    key = _resolve(resolve_key, checked, moment)
    message = RequestMessage(method=method, url=str(target), headers=lines)
    result = _verify(message, checked.label, key, moment, REQUEST_COMPONENTS, body)
    # The library derived @authority from ``url``; compared again so that ours is what counts.
    if result.covered_components.get('"@authority"') != target.authority:
        raise SignatureRejected("bad_authority", "the request was signed for another authority")
    assert checked.nonce is not None  # nonce_required
    return VerifiedRequest(
        key.org, key.key_id, checked.nonce, checked.created, checked.expires, checked.member
    )


def verify_response(
    *,
    status: int,
    headers: Sequence[tuple[str, str]] | Mapping[str, str],
    body: bytes,
    request_method: str,
    request_url: str,
    request_signature: str,
    expected_org: str,
    resolve_key: KeyResolver,
    now: datetime | None = None,
) -> None:
    """Verify a partner's answer to our request; :class:`SignatureRejected` if it fails.

    The answer must be signed by a key of ``expected_org`` and bound to ``request_signature``
    (the ``Signature`` header we sent).
    """
    moment, lines = _now_or(now), FieldLines(headers)
    components = _response_components(_request_label(request_signature))
    request = binding_request(request_method, request_url, request_signature)
    checked = _check_profile(lines, components, moment, nonce_required=False)
    key = _resolve(resolve_key, checked, moment)
    if key.org != expected_org:
        raise SignatureRejected("unknown_key", f"the answer is not signed by {expected_org}")
    message = ResponseMessage(status_code=status, headers=lines, request=request)
    _verify(message, checked.label, key, moment, components, body)


@dataclass(frozen=True, slots=True)
class _Checked:
    """The one signature tagged :data:`TAG`, as far as it can be checked without its key."""

    label: str
    key_id: str
    nonce: str | None
    created: datetime
    expires: datetime
    member: str  # the Signature member, serialised as a one-member Signature field


def _check_profile(
    lines: FieldLines, components: Sequence[str], now: datetime, *, nonce_required: bool
) -> _Checked:
    """Sizes, then structure, tag, parameters, nonce, times, coverage and digest header."""
    raw_inputs, raw_signatures = combined(lines, "signature-input"), combined(lines, "signature")
    # Characters, which are bytes for latin-1-decoded fields; anything non-ASCII is malformed.
    for raw in (raw_inputs, raw_signatures, combined(lines, "content-digest")):
        if raw is not None and len(raw) > MAX_SIGNATURE_HEADER_BYTES:
            raise SignatureRejected("too_large", "a signature header is too large")
    if not raw_inputs or not raw_signatures:
        raise SignatureRejected("missing_signature", "the message is not signed")
    inputs = _parse_dictionary(raw_inputs, "Signature-Input")
    signatures = _parse_dictionary(raw_signatures, "Signature")
    if inputs.keys() != signatures.keys():
        raise SignatureRejected("malformed", "Signature-Input and Signature labels differ")
    tagged = [label for label, (_, params) in inputs.items() if params.get("tag") == TAG]
    if not tagged:
        raise SignatureRejected("wrong_tag", f"no signature is tagged {TAG}")
    if len(tagged) > 1:
        raise SignatureRejected("multiple_signatures", f"more than one signature is tagged {TAG}")
    label = tagged[0]
    (covered, params), (value, signature_params) = inputs[label], signatures[label]
    if not isinstance(covered, list) or not isinstance(value, bytes):
        raise SignatureRejected("malformed", "the signature headers are not RFC 9421 fields")
    if any(not isinstance(name, str) for name, _ in covered):
        raise SignatureRejected("malformed", "a covered component is not a string")
    if unknown := set(params) - _PARAMETER_TYPES.keys():
        raise SignatureRejected("unknown_parameter", f"unknown parameter {sorted(unknown)[0]}")
    if "alg" in params and params["alg"] != _ALGORITHM.algorithm_id:
        raise SignatureRejected("alg_mismatch", f"the algorithm must be {_ALGORITHM.algorithm_id}")
    for name, kind in _PARAMETER_TYPES.items():
        if name in params and type(params[name]) is not kind:
            raise SignatureRejected("malformed", f"parameter {name} must be {kind.__name__}")
    nonce = params.get("nonce")
    if nonce_required and (nonce is None or len(nonce) < MIN_NONCE_LENGTH):
        raise SignatureRejected("missing_nonce", f"a nonce of {MIN_NONCE_LENGTH}+ chars is needed")
    created, expires = _check_times(params, now)
    identities = {component_identity(name, params) for name, params in covered}
    for component in components:
        if required_identity(component) not in identities:
            raise SignatureRejected("missing_components", f"{component} is not covered")
    if combined(lines, "content-digest") is None:
        raise SignatureRejected("digest_mismatch", "the message has no Content-Digest")
    member = http_sf.ser({label: (value, signature_params)})
    return _Checked(label, params.get("keyid", ""), nonce, created, expires, member)


def _parse_dictionary(raw: str, field: str) -> dict[str, Any]:
    def reject_duplicate(key: str, context: str) -> None:
        if context == "dictionary":
            raise ValueError(f"duplicate label {key}")

    try:
        parsed = http_sf.parse(
            raw.encode("ascii"), tltype="dictionary", on_duplicate_key=reject_duplicate
        )
    except (UnicodeEncodeError, ValueError) as exc:
        raise SignatureRejected("malformed", f"{field} is not a structured dictionary") from exc
    if not isinstance(parsed, dict) or not parsed:
        raise SignatureRejected("missing_signature", "the message is not signed")
    return parsed


def _check_times(params: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """``created`` and ``expires`` if they satisfy the profile at ``now``."""
    if "created" not in params:
        raise SignatureRejected("stale", "the signature has no created time")
    if "expires" not in params:
        raise SignatureRejected("expired", "the signature has no expiry time")
    created = _timestamp(params["created"], "created")
    expires = _timestamp(params["expires"], "expires")
    if created > now + MAX_SKEW:
        raise SignatureRejected("not_yet_valid", "the signature was created in the future")
    if now - created > MAX_AGE:
        raise SignatureRejected("stale", f"the signature is older than {_MAX_AGE_S} s")
    if expires <= now:
        raise SignatureRejected("expired", "the signature has expired")
    if expires - created > MAX_AGE:
        raise SignatureRejected("expired", f"the signature lasts more than {_MAX_AGE_S} s")
    return created, expires


def _timestamp(value: Any, name: str) -> datetime:
    if type(value) is not int:
        raise SignatureRejected("malformed", f"parameter {name} must be an integer")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureRejected("malformed", f"parameter {name} is out of range") from exc


def _resolve(resolve_key: KeyResolver, checked: _Checked, now: datetime) -> PartnerKey:
    if not checked.key_id:
        raise SignatureRejected("unknown_key", "the signature names no key")
    key = resolve_key(checked.key_id)
    if key is None or key.key_id != checked.key_id:
        raise SignatureRejected("unknown_key", "the signing key is not known")
    if not (key.valid_at(checked.created) and key.valid_at(now)):
        raise SignatureRejected("key_not_valid", "the signing key is not valid at this time")
    return key


def _verify(
    message: RequestMessage | ResponseMessage,
    label: str,
    key: PartnerKey,
    now: datetime,
    components: Sequence[str],
    body: bytes,
) -> VerifyResult:
    """The library's verification of the selected signature and then of the body digest."""
    verifier = _verifier(key, now)
    try:
        (result,) = verifier.verify(
            message,
            max_age=MAX_AGE,  # applied by the verifier's hook, with the caller's clock
            expect_tag=TAG,
            expect_label=label,
            require_components=components,
        )
    except InvalidSignature as exc:
        if isinstance(message, RequestMessage) and _signed_for_host(message, label, key, now):
            raise SignatureRejected(
                "bad_authority", "the request was signed for another authority"
            ) from exc
        raise SignatureRejected("bad_signature", "the signature does not verify") from exc
    try:
        verifier.verify_body(message, [result], body)
    except InvalidSignature as exc:
        raise SignatureRejected("digest_mismatch", "the body does not match its digest") from exc
    return result


def _signed_for_host(message: RequestMessage, label: str, key: PartnerKey, now: datetime) -> bool:
    """Whether the request verifies for the authority in its ``Host`` header instead of ours.

    Only names a rejection: a request is never accepted for its ``Host``.
    """
    hosts = [value for name, value in message.headers.items() if name.lower() == "host"]
    ours = normalise_url(message.url)
    try:
        other = normalise_url(f"{ours.scheme}://{hosts[0].strip()}{ours.rest}")
    except (IndexError, ValueError):
        return False
    if len(hosts) != 1 or other.authority == ours.authority:
        return False
    retry = RequestMessage(method=message.method, url=str(other), headers=message.headers)
    try:
        _verifier(key, now).verify(retry, expect_tag=TAG, expect_label=label)
    except InvalidSignature:
        return False
    return True


def _verifier(key: PartnerKey, now: datetime) -> OneKeyVerifier:
    """The library's verifier with ``key`` only and our clock rules at ``now``."""
    return OneKeyVerifier(_ALGORITHM, key.key_id, key.public, lambda p: _check_times(p, now))


# -- answers' binding ---------------------------------------------------------------------------


def _response_components(label: str) -> tuple[str, ...]:
    return (*RESPONSE_COMPONENTS[:-1], f'"signature";req;key="{label}"')


def _request_label(request_signature: str) -> str:
    """The label an answer binds to: the only member of ``request_signature``, else ``tm``.

    ``ValueError`` if ``request_signature`` is too large, not a ``Signature`` field value, or
    has several members and none labelled :data:`SIGNATURE_LABEL`.
    """
    if len(request_signature) > MAX_SIGNATURE_HEADER_BYTES:
        raise ValueError("request_signature is too large")
    try:
        parsed = http_sf.parse(request_signature.encode("ascii"), tltype="dictionary")
    except (UnicodeEncodeError, ValueError) as exc:
        raise ValueError("request_signature is not a Signature field value") from exc
    if not isinstance(parsed, dict) or not parsed:
        raise ValueError("request_signature holds no signature")
    if len(parsed) == 1:
        return next(iter(parsed))
    if SIGNATURE_LABEL in parsed:
        return SIGNATURE_LABEL
    raise ValueError(f"request_signature has several signatures and none is {SIGNATURE_LABEL}")


# -- time ---------------------------------------------------------------------------------------


def _now_or(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)
