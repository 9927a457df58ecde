"""``twinmesh``: serve the GraphQL server and run the operator's tools."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from twinmesh.cli.audit_cmd import audit_app
from twinmesh.cli.keys_cmd import keys_app
from twinmesh.cli.ontology_cmd import ontology_app
from twinmesh.cli.token_cmd import token_app

app = typer.Typer(
    name="twinmesh",
    help="Federated, multi-tenant digital-twin graph server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(ontology_app, name="ontology")
app.add_typer(token_app, name="token")


@app.callback()
def main() -> None:
    """Federated, multi-tenant digital-twin graph server."""


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (default: $TWINMESH_CONFIG).", exists=True),
]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port to listen on.")] = None,
    store: Annotated[
        str | None, typer.Option(help="Graph store: embedded or neo4j.", metavar="embedded|neo4j")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Directory of the embedded store's database file.")
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed the demo tenant and serve GraphiQL.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Run the server (GraphQL at /graphql, health at /livez and /readyz)."""
    import uvicorn

    from twinmesh.bootstrap import build_services
    from twinmesh.config import load_settings
    from twinmesh.demo import DEMO_TENANT, demo_token, prepare_demo_tenant, seed_demo
    from twinmesh.http.app import create_app

    overrides: dict[str, Any] = {
        key: value
        for key, value in {"host": host, "port": port, "store": store, "data_dir": data_dir}.items()
        if value is not None
    }
    if demo:
        overrides["demo"] = True
    try:
        settings = load_settings(config, **overrides)
    except (ValueError, FileNotFoundError) as exc:
        typer.secho(f"error: invalid settings: {exc}", err=True, fg="red")
        raise typer.Exit(2) from exc

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    services = build_services(settings)
    token = demo_token(services) if settings.demo else None
    application = create_app(
        services,
        dev=settings.demo,
        seed=seed_demo if settings.demo else None,
        prepare_tenant=prepare_demo_tenant if settings.demo else None,
        ide_token=token,
    )
    where = f"http://{settings.host}:{settings.port}"
    typer.echo(f"twinmesh on {where} (store: {settings.store}); GraphQL at {where}/graphql")
    if token is not None:
        typer.echo(
            f"Demo tenant {DEMO_TENANT!r}: GraphiQL at {where}/graphql already sends this token; "
            "for other clients send the header\n"
            f"  Authorization: Bearer {token}\n"
            "(more with: twinmesh token issue --tenant demo --subject you --data-dir "
            f"{settings.data_dir})"
        )
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        lifespan="on",
    )
