"""``twinmesh token issue``: mint a development access token (see :mod:`twinmesh.auth.dev_issuer`).

Only the token goes to stdout, so ``TOKEN=$(twinmesh token issue --tenant demo --subject ada)``
works; messages go to stderr. Exit codes: 0 issued, 2 usage error (bad tenant id, ttl, settings)
or an unusable key file.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

token_app = typer.Typer(
    name="token",
    help="Issue development access tokens (RFC 9068) from the built-in issuer.",
    no_args_is_help=True,
)

_TTL_RE = re.compile(r"([1-9][0-9]{0,6})([smhd]?)")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@token_app.callback()
def _token() -> None:
    """Issue development access tokens (RFC 9068) from the built-in issuer."""


def parse_ttl(value: str) -> timedelta:
    """``90``/``90s``, ``30m``, ``8h`` or ``7d`` as a duration."""
    match = _TTL_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"invalid ttl {value!r}: use e.g. 90s, 30m, 8h or 7d")
    return timedelta(seconds=int(match.group(1)) * _TTL_UNITS[match.group(2)])


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg="red")
    return typer.Exit(2)


@token_app.command("issue")
def issue(
    tenant: Annotated[str, typer.Option(help="Tenant id the token is scoped to.")],
    subject: Annotated[str, typer.Option(help="The token's subject (sub), e.g. a user name.")],
    role: Annotated[
        list[str] | None, typer.Option("--role", help="A role claim; repeat for several.")
    ] = None,
    ttl: Annotated[str, typer.Option(help="Lifetime: 90s, 30m, 8h, 7d (max 30d).")] = "8h",
    client_id: Annotated[str, typer.Option(help="The client_id claim.")] = "twinmesh-dev",
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Directory holding dev-issuer.jwk (default: the data_dir setting)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML settings file (default: $TWINMESH_CONFIG).", exists=True
        ),
    ] = None,
) -> None:
    """Print a signed access token from the development issuer (urn:twinmesh:dev)."""
    from twinmesh.auth.dev_issuer import DevIssuer, DevIssuerKeyError
    from twinmesh.domain.twins import validate_tenant_id
    from twinmesh.errors import ValidationFailed

    try:
        validate_tenant_id(tenant)
    except ValidationFailed as exc:
        raise _fail(f"invalid --tenant {tenant!r}: {exc.message}") from exc
    try:
        lifetime = parse_ttl(ttl)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    if data_dir is None:
        from twinmesh.config import load_settings

        try:
            data_dir = load_settings(config).data_dir
        except (ValueError, FileNotFoundError) as exc:
            raise _fail(f"invalid settings: {exc}") from exc
    try:
        issuer = DevIssuer.load_or_create(data_dir)
        token = issuer.issue_token(
            tenant, subject, roles=role or (), ttl=lifetime, client_id=client_id
        )
    except DevIssuerKeyError as exc:
        raise _fail(str(exc)) from exc
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(token)
