"""Translate Cedar partial-evaluation residuals over an unknown twin into plan predicates.

Why hand-written: Cedar answers "which twins may this principal read?" only as residual
policies (JSON EST expressions with ``resource`` unknown); nothing in ``cedarpy`` or Cedar
turns those into a database filter, and our filter language is twinmesh's own read plan
(:mod:`twinmesh.store.plan`). The translator covers the fragment that the policy schema
makes meaningful for twins:

* ``resource.model`` compared with ``==`` / ``!=`` or tested with ``[..].contains(..)``;
* ``resource.models.contains(X)`` / ``containsAny([..])`` / ``containsAll([..])``, which
  become ``model in family(X)`` (X and every DTMI that extends X; ``family`` comes from the
  caller's ontology);
* ``resource.tenant`` (always the tenant being authorised, so it folds to a constant);
* ``resource == Twin::"id"``, ``resource in Twin::"id"`` / ``in [..]`` (twins have no
  parents), ``resource is Twin``, ``resource has attr``;
* ``&&``, ``||``, ``!``, ``if-then-else``, ``when`` / ``unless`` and constants.

Everything else raises :class:`Unsupported` for that policy, and the policy fails closed: an
untranslatable permit permits nothing, an untranslatable forbid forbids every twin. The
result therefore may be narrower than per-twin authorisation but never wider.

Semantics: allowed = (any permit residual holds) AND NOT (any forbid residual holds).
``&&`` and ``||`` short-circuit as in Cedar, so a guard such as ``false && <anything>``
translates even when its right-hand side would not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from twinmesh.policy.model import DENY_ALL, NAMESPACE, TWIN_ATTRIBUTES, TwinFilter, TwinWhere
from twinmesh.store.plan import AllOf, AnyOf, Condition, FieldRef, Not, Predicate

Family = Callable[[str], tuple[str, ...]]
"""``family(dtmi)``: the DTMIs that are ``dtmi`` or extend it (directly or transitively)."""

Formula: TypeAlias = bool | Predicate
TWIN_TYPE = f"{NAMESPACE}::Twin"
_MODEL = FieldRef(meta="model")
_ID = FieldRef(meta="id")


class Unsupported(Exception):
    """A residual expression outside the translatable fragment."""


# -- terms: what a non-boolean sub-expression denotes ---------------------------------------


@dataclass(frozen=True, slots=True)
class _Const:
    value: Any  # str | int | bool | ("entity", type, id) | frozenset of those


class _Resource:
    """The unknown twin itself."""


class _Model:
    """``resource.model``."""


class _Models:
    """``resource.models`` (the model and its ancestors)."""


_Term: TypeAlias = _Const | _Resource | _Model | _Models


def _value(raw: Any) -> Any:
    if isinstance(raw, bool | int | str):
        return raw
    if isinstance(raw, list):
        return frozenset(_value(item) for item in raw)
    if isinstance(raw, dict) and set(raw) == {"__entity"}:
        entity = raw["__entity"]
        return ("entity", str(entity["type"]), str(entity["id"]))
    raise Unsupported(f"value {str(raw)[:60]}")


def _same(a: Any, b: Any) -> bool:
    """Cedar equality: values of different types are never equal (so ``1 != true``)."""
    return type(a) is type(b) and bool(a == b)


# -- boolean algebra with constant folding ----------------------------------------------------


def and_(items: list[Formula]) -> Formula:
    out: list[Predicate] = []
    for item in items:
        if item is False:
            return False
        if item is True:
            continue
        assert not isinstance(item, bool)
        out.extend(item.items if isinstance(item, AllOf) else (item,))
    if not out:
        return True
    return out[0] if len(out) == 1 else AllOf(tuple(out))


def or_(items: list[Formula]) -> Formula:
    out: list[Predicate] = []
    for item in items:
        if item is True:
            return True
        if item is False:
            continue
        assert not isinstance(item, bool)
        out.extend(item.items if isinstance(item, AnyOf) else (item,))
    if not out:
        return False
    return out[0] if len(out) == 1 else AnyOf(tuple(out))


def not_(item: Formula) -> Formula:
    if isinstance(item, bool):
        return not item
    if isinstance(item, Not):
        return item.item
    return Not(item)


# -- the translator ---------------------------------------------------------------------------


class _Translator:
    def __init__(self, tenant: str, family: Family) -> None:
        self.tenant = tenant
        self.family = family

    def model_in_family(self, values: list[Any]) -> Formula:
        dtmis: set[str] = set()
        for value in values:
            if isinstance(value, str):
                dtmis.add(value)
                dtmis.update(self.family(value))
        if not dtmis:
            return False
        return Condition(_MODEL, "in", sorted(dtmis))

    def term(self, expr: Any) -> _Term:
        if not isinstance(expr, dict) or len(expr) != 1:
            raise Unsupported(f"expression {str(expr)[:60]}")
        ((op, arg),) = expr.items()
        if op == "Value":
            return _Const(_value(arg))
        if op in ("unknown", "Unknown", "Var"):
            name = arg if isinstance(arg, str) else (arg[0].get("Value") if arg else None)
            if name == "resource":
                return _Resource()
            raise Unsupported(f"variable {str(name)[:40]}")
        if op == "Set":
            members = [self.term(item) for item in arg]
            if all(isinstance(m, _Const) for m in members):
                return _Const(frozenset(m.value for m in members if isinstance(m, _Const)))
            raise Unsupported("a set built from twin attributes")
        if op == ".":
            left = self.term(arg["left"])
            attr = arg["attr"]
            if isinstance(left, _Resource):
                if attr == "model":
                    return _Model()
                if attr == "models":
                    return _Models()
                if attr == "tenant":
                    return _Const(self.tenant)
            raise Unsupported(f"attribute {str(attr)[:40]}")
        raise Unsupported(f"operator {op}")

    def formula(self, expr: Any) -> Formula:
        if not isinstance(expr, dict) or len(expr) != 1:
            raise Unsupported(f"expression {str(expr)[:60]}")
        ((op, arg),) = expr.items()
        if op == "Value":
            if isinstance(arg, bool):
                return arg
            raise Unsupported("a non-boolean condition")
        if op == "&&":
            left = self.formula(arg["left"])
            return False if left is False else and_([left, self.formula(arg["right"])])
        if op == "||":
            left = self.formula(arg["left"])
            return True if left is True else or_([left, self.formula(arg["right"])])
        if op == "!":
            return not_(self.formula(arg["arg"]))
        if op == "if-then-else":
            cond = self.formula(arg["if"])
            if isinstance(cond, bool):
                return self.formula(arg["then"] if cond else arg["else"])
            then, other = self.formula(arg["then"]), self.formula(arg["else"])
            return or_([and_([cond, then]), and_([not_(cond), other])])
        if op == "is":
            if not isinstance(self.term(arg["left"]), _Resource):
                raise Unsupported("`is` on a value other than the resource")
            is_twin = bool(arg["entity_type"] == TWIN_TYPE)
            if "in" in arg:
                return and_([is_twin, self.in_(_Resource(), self.term(arg["in"]))])
            return is_twin
        if op == "has":
            if isinstance(self.term(arg["left"]), _Resource):
                return bool(arg["attr"] in TWIN_ATTRIBUTES)
            raise Unsupported("`has` on a value other than the resource")
        if op in ("==", "!="):
            equal = self.equals(self.term(arg["left"]), self.term(arg["right"]))
            return equal if op == "==" else not_(equal)
        if op == "in":
            return self.in_(self.term(arg["left"]), self.term(arg["right"]))
        if op in ("contains", "containsAny", "containsAll"):
            return self.contains(op, self.term(arg["left"]), self.term(arg["right"]))
        raise Unsupported(f"operator {op}")

    def equals(self, left: _Term, right: _Term) -> Formula:
        if isinstance(left, _Const) and not isinstance(right, _Const):
            left, right = right, left
        if isinstance(left, _Const) and isinstance(right, _Const):
            return _same(left.value, right.value)
        if isinstance(right, _Const):
            if isinstance(left, _Model):
                if isinstance(right.value, str):
                    return Condition(_MODEL, "eq", right.value)
                return False
            if isinstance(left, _Resource):
                return self.twin_is(right.value)
        raise Unsupported("comparison of twin attributes with each other or with a set")

    def twin_is(self, value: Any) -> Formula:
        if isinstance(value, tuple) and value[0] == "entity":
            return Condition(_ID, "eq", value[2]) if value[1] == TWIN_TYPE else False
        return False

    def in_(self, left: _Term, right: _Term) -> Formula:
        # A twin entity has no parents, so `resource in E` is `resource == E`.
        if isinstance(left, _Resource) and isinstance(right, _Const):
            targets = right.value if isinstance(right.value, frozenset) else [right.value]
            for target in targets:
                if not (isinstance(target, tuple) and target[0] == "entity"):
                    raise Unsupported("`in` with a non-entity")
            return or_([self.twin_is(t) for t in targets])
        raise Unsupported("`in` on a value other than the resource")

    def contains(self, op: str, left: _Term, right: _Term) -> Formula:
        if op == "contains":
            if isinstance(left, _Models) and isinstance(right, _Const):
                return self.model_in_family([right.value])
            if isinstance(left, _Models) and isinstance(right, _Model):
                return True  # models always holds the model itself
            if isinstance(left, _Const) and isinstance(left.value, frozenset):
                members = list(left.value)
                if isinstance(right, _Model):
                    strings = sorted(m for m in members if isinstance(m, str))
                    return Condition(_MODEL, "in", strings) if strings else False
                if isinstance(right, _Resource):
                    return or_([self.twin_is(m) for m in members])
                if isinstance(right, _Const):
                    return any(_same(m, right.value) for m in members)
            raise Unsupported("`contains` outside resource.models / literal sets")
        # containsAny / containsAll between resource.models and a literal set.
        if isinstance(left, _Const) and isinstance(right, _Models) and op == "containsAny":
            left, right = right, left
        if (
            isinstance(left, _Models)
            and isinstance(right, _Const)
            and isinstance(right.value, frozenset)
        ):
            members = list(right.value)
            if op == "containsAny":
                return self.model_in_family(members)
            return and_([self.model_in_family([m]) for m in members])
        raise Unsupported(f"`{op}` outside resource.models and a literal set")

    def policy(self, policy: Mapping[str, Any]) -> Formula:
        for scope in ("principal", "action", "resource"):
            if policy.get(scope, {}).get("op") != "All":
                raise Unsupported(f"a residual {scope} scope")
        parts: list[Formula] = []
        for condition in policy.get("conditions", []):
            body = self.formula(condition["body"])
            if condition["kind"] == "when":
                parts.append(body)
            elif condition["kind"] == "unless":
                parts.append(not_(body))
            else:
                raise Unsupported(f"condition kind {condition['kind']}")
        return and_(parts)


def translate_residuals(
    residuals: Mapping[str, Mapping[str, Any]], *, tenant: str, family: Family
) -> TwinFilter:
    """The twin filter equivalent to ``residuals`` (a cedarpy partial result's residuals)."""
    translator = _Translator(tenant, family)
    permits: list[Formula] = []
    forbids: list[Formula] = []
    warnings: list[str] = []
    for key in sorted(residuals):
        policy = residuals[key]
        label = str(policy.get("annotations", {}).get("id", key))
        effect = policy.get("effect")
        try:
            formula = translator.policy(policy)
        except (Unsupported, KeyError, TypeError, IndexError, AttributeError) as error:
            detail = str(error) if isinstance(error, Unsupported) else "malformed residual"
            warnings.append(f"{label}: {detail}; not pushed down ({effect} fails closed)")
            formula = effect != "permit"
        if effect == "permit":
            permits.append(formula)
        elif effect == "forbid":
            forbids.append(formula)
        else:
            warnings.append(f"{label}: unknown effect; every twin is denied")
            forbids.append(True)
    allowed = and_([or_(permits), not_(or_(forbids))])
    where: TwinWhere = None if allowed is True else DENY_ALL if allowed is False else allowed
    return TwinFilter(where=where, warnings=tuple(warnings))
