"""Adapters to the ``http-message-signatures`` library, and URL normalisation.

The library signs and verifies any object with ``method``, ``url`` and ``headers`` (a request)
or ``status_code``, ``headers`` and ``request`` (a response); :class:`RequestMessage` and
:class:`ResponseMessage` are those objects, and :class:`FieldLines` gives it a server's header
field lines in wire order with repeated names kept. :func:`required_identity` reads the
component ids the profile requires the way ``http_sf`` parses a ``Signature-Input``.
:class:`OneKeyVerifier` is the library's verifier with exactly one key (the one our partner
registry returned, so the registry is asked once) and the caller's rules for ``created`` and
``expires`` in place of the library's wall-clock check.

**URL normalisation.** The library lower-cases the host and strips a default port in
``@authority`` but keeps the URL's spelling in ``@target-uri``; both sides normalise the URL
(:func:`normalise_url`) so ``https://Twins.A.test:443/x`` and ``https://twins.a.test/x`` sign
alike. Path and query are kept byte for byte: the query is covered (SECURITY.md item 17).
Written here: ``urllib.parse.urlsplit`` leaves the host's case and a default port as given,
and ``httpx.URL`` percent-encodes path and query, which must reach the verifier as received.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, cast

import http_sf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver
from http_message_signatures.algorithms import HTTPSignatureAlgorithm

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_URL_RE: Final = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL
)
_AUTHORITY_RE: Final = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]@]+)(?::(?P<port>[0-9]*))?")


@dataclass(slots=True)
class RequestMessage:
    """The library's message interface for a request."""

    method: str
    url: str
    headers: Any  # a dict when signing, FieldLines when verifying


@dataclass(slots=True)
class ResponseMessage:
    """The library's message interface for a response and the request it answers."""

    status_code: int
    headers: Any
    request: RequestMessage


class FieldLines(list[tuple[str, str]]):
    """Header field lines in wire order, repeated names kept: all a verifier reads is items()."""

    def __init__(self, headers: Sequence[tuple[str, str]] | Mapping[str, str]) -> None:
        super().__init__(headers.items() if isinstance(headers, Mapping) else headers)

    def items(self) -> list[tuple[str, str]]:
        return self


def combined(lines: FieldLines, name: str) -> str | None:
    """The values of every ``name`` line joined as one field value, or ``None`` if absent."""
    values = [value for field, value in lines if field.lower() == name]
    return ", ".join(values) if values else None


class OneKeyVerifier(HTTPMessageVerifier):
    """The library's verifier for one key; ``check_times`` judges ``created`` and ``expires``."""

    def __init__(
        self,
        algorithm: type[HTTPSignatureAlgorithm],
        key_id: str,
        public: Ed25519PublicKey,
        check_times: Callable[[dict[str, Any]], object],
    ) -> None:
        super().__init__(signature_algorithm=algorithm, key_resolver=_OneKey(key_id, public))
        self._check_times = check_times

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        # The library reads the wall clock; the profile's rules use the caller's clock.
        self._check_times(dict(sig_input.params))


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, public: Ed25519PublicKey) -> None:
        self._key_id, self._public = key_id, public

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self._public if key_id == self._key_id else None

    def resolve_private_key(self, key_id: str) -> None:
        raise KeyError(key_id)


ComponentIdentity = tuple[str, frozenset[tuple[str, Any]]]


def component_identity(name: str, params: Mapping[str, Any]) -> ComponentIdentity:
    """A covered component as parsed from ``Signature-Input``: its name and parameters."""
    return name, frozenset(params.items())


def required_identity(component: str) -> ComponentIdentity:
    """The identity of a component id as the profile lists it, e.g. ``'"@method";req'``."""
    if not component.startswith('"'):
        return component_identity(component, {})
    name, params = cast(
        tuple[str, dict[str, Any]], http_sf.parse(component.encode(), tltype="item")
    )
    return component_identity(name, params)


def binding_request(method: str, url: str, signature: str) -> RequestMessage:
    """The parts of a request that an answer's signature binds to (``;req`` components)."""
    return RequestMessage(
        method=method, url=str(normalise_url(url)), headers={"Signature": signature}
    )


class Url(NamedTuple):
    scheme: str
    authority: str  # lower-cased host, then ":port" unless the port is the scheme's default
    rest: str  # path and query, exactly as given

    def __str__(self) -> str:
        return f"{self.scheme}://{self.authority}{self.rest}"


def normalise_url(url: str) -> Url:
    """``url`` with scheme and host lower-cased, a default port removed, a fragment dropped.

    Path and query are kept exactly (the library rejects invalid ones when it resolves
    components). ``ValueError`` unless the URL starts with an ASCII ``scheme://host[:port]``
    without user information.
    """
    match = _URL_RE.fullmatch(url)
    if match is None or not match["authority"].isascii():
        raise ValueError("the URL must be absolute, with an ASCII authority")
    scheme = match["scheme"].lower()
    parts = _AUTHORITY_RE.fullmatch(match["authority"])
    if parts is None:
        raise ValueError("the URL's authority must be host[:port]")
    authority, port = parts["host"].lower(), parts["port"]
    if port and int(port) != _DEFAULT_PORTS.get(scheme):
        authority += f":{int(port)}"
    return Url(scheme, authority, match["rest"].partition("#")[0])
