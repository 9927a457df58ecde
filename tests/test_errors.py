"""One table maps every error to its GraphQL code and HTTP status."""

from __future__ import annotations

import pytest

from twinmesh import errors


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (errors.Unauthenticated("x"), "UNAUTHENTICATED", 401),
        (errors.Forbidden("x"), "FORBIDDEN", 403),
        (errors.NotFound("x"), "NOT_FOUND", 404),
        (errors.ModelNotFound("x"), "MODEL_NOT_FOUND", 404),
        (errors.ValidationFailed("x"), "VALIDATION_FAILED", 400),
        (errors.Conflict("x"), "CONFLICT", 409),
        (errors.ModelInUse("x"), "MODEL_IN_USE", 409),
        (errors.LimitExceeded("x"), "LIMIT_EXCEEDED", 429),
        (errors.PartnerUnavailable("x"), "PARTNER_UNAVAILABLE", 502),
        (errors.StoreUnavailable("x"), "STORE_UNAVAILABLE", 503),
        (RuntimeError("neo4j://db:7687 MATCH (n)"), "INTERNAL", 500),
    ],
)
def test_mapping(error: BaseException, code: str, status: int) -> None:
    assert errors.mapping_for(error) == errors.ErrorMapping(code, status)


def test_every_public_error_class_is_in_the_table() -> None:
    classes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.TwinmeshError)
    }
    assert classes == set(errors.ERROR_TABLE)
