"""``python -m twinmesh.cli`` runs the ``twinmesh`` command."""

from twinmesh.cli.main import app

app()
