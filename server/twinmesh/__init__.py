"""twinmesh: a federated, multi-tenant digital-twin graph server."""
