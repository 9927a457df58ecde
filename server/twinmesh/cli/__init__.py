"""The ``twinmesh`` command line (typer); commands only adapt, the logic lives elsewhere."""
