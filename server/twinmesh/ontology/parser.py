"""Turn DTDL JSON-LD documents into ``Node`` elements, enforcing the per-element rules.

There is no maintained DTDL parser for Python (Microsoft's reference implementation is .NET),
so this is a hand-written interpreter of the official metamodel tables: every element's
``@type`` selects its class, the class (and its co-types) select the permitted properties and
their SHACL constraints, and each property value is decoded according to those constraints.
Cross-element rules (references, inheritance, limits) live in ``checks``.
"""

from __future__ import annotations

from twinmesh.ontology import metamodel as mm
from twinmesh.ontology.context import Context, process
from twinmesh.ontology.diagnostics import Code, Diagnostic, pointer_join
from twinmesh.ontology.loader import InvalidSource
from twinmesh.ontology.nodes import Node
from twinmesh.ontology.terms import TermKind, classify, tolerated
from twinmesh.ontology.values import ValueReader

ALLOWED_KEYWORDS = frozenset({"@context", "@id", "@type"})


class Parser:
    """Parses documents one at a time, collecting nodes and diagnostics."""

    def __init__(self, *, allow_undefined: bool) -> None:
        self.allow_undefined = allow_undefined
        self.diagnostics: list[Diagnostic] = []
        self.nodes: list[Node] = []
        self.roots: list[tuple[Node, object]] = []
        self._anonymous = 0
        self._values = ValueReader(self)

    def error(self, file: str, pointer: str, code: Code, message: str) -> None:
        self.diagnostics.append(Diagnostic(file, pointer, code, message))

    # documents -----------------------------------------------------------------------------
    def parse_document(self, file: str, content: object) -> None:
        if isinstance(content, InvalidSource):
            self.diagnostics.append(content.diagnostic)
            return
        if isinstance(content, dict):
            items: list[tuple[object, str]] = [(content, "")]
        elif isinstance(content, list):
            items = [(item, f"/{i}") for i, item in enumerate(content)]
        else:
            self.error(file, "", Code.ROOT_NOT_OBJECT, "a DTDL document must be an object or array")
            return
        for item, pointer in items:
            if not isinstance(item, dict):
                self.error(file, pointer, Code.ROOT_NOT_OBJECT, "top-level entries must be objects")
                continue
            if "@context" not in item:
                self.error(
                    file,
                    pointer,
                    Code.CONTEXT_MISSING,
                    'a top-level element needs "@context": "dtmi:dtdl:context;3"',
                )
                continue
            ctx = self.context(item["@context"], None, file, pointer)
            if ctx is None:
                continue
            node = self.element(item, ctx, file, pointer, expected=None)
            if node is not None:
                self.roots.append((node, item))

    def context(
        self, value: object, parent: Context | None, file: str, pointer: str
    ) -> Context | None:
        ctx, problems = process(value, parent, allow_undefined=self.allow_undefined)
        for problem in problems:
            self.error(file, pointer_join(pointer, "@context"), problem.code, problem.message)
        return ctx

    # elements ------------------------------------------------------------------------------
    def element(
        self,
        obj: dict[str, object],
        ctx: Context,
        file: str,
        pointer: str,
        *,
        expected: tuple[str, ...] | None,
        infer: str | None = None,
        id_required: bool = False,
        parent: Node | None = None,
    ) -> Node | None:
        if parent is not None and "@context" in obj:
            inner = self.context(obj["@context"], ctx, file, pointer)
            ctx = inner or ctx
        for key in obj:
            restricted = ctx.version >= 3 or key == "@graph"
            if key.startswith("@") and key not in ALLOWED_KEYWORDS and restricted:
                self.error(
                    file,
                    pointer_join(pointer, key),
                    Code.INVALID_KEYWORD,
                    f"JSON-LD keyword '{key}' is not allowed in DTDL",
                )
        typed = self._types(obj, ctx, file, pointer, expected, infer)
        if typed is None:
            return None
        material, cotypes, undefined_cotype = typed
        info = mm.CLASSES[material]
        node_id, explicit = self._identifier(obj, ctx, info, file, pointer, id_required, parent)
        node = Node(
            id=node_id,
            explicit_id=explicit,
            material=material,
            cotypes=cotypes,
            version=ctx.version,
            file=file,
            pointer=pointer,
            partition=None,
            parent=parent,
            undefined_cotype=undefined_cotype,
            raw=obj,
        )
        node.partition = node if info.partition else (parent.partition if parent else None)
        self.nodes.append(node)
        for constraint in mm.constraints_of(material):
            node.constraints.setdefault(constraint.name, []).append(constraint)
        for cotype in cotypes:
            for constraint in mm.constraints_of(cotype):
                node.constraints.setdefault(constraint.name, []).append(constraint)
        self._properties(node, obj, ctx)
        return node

    def _types(
        self,
        obj: dict[str, object],
        ctx: Context,
        file: str,
        pointer: str,
        expected: tuple[str, ...] | None,
        infer: str | None,
    ) -> tuple[str, list[str], bool] | None:
        where = pointer_join(pointer, "@type")
        raw = obj.get("@type")
        if raw is None:
            if infer is not None and "@type" not in obj:
                if expected is not None and not mm.is_a(infer, expected):
                    self.error(
                        file,
                        pointer,
                        Code.TYPE_NOT_ALLOWED,
                        f"{mm.CLASSES[infer].name} from another DTDL version is not allowed here",
                    )
                    return None
                return infer, [], False
            self.error(file, pointer, Code.TYPE_MISSING, "element has no @type")
            return None
        entries = [raw] if isinstance(raw, str) else raw
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            self.error(file, where, Code.TYPE_INVALID, "@type must be a string or string array")
            return None
        materials: list[str] = []
        cotypes: list[str] = []
        undefined = False
        for entry in entries:
            assert isinstance(entry, str)
            kind, dtmi = classify(entry, ctx)
            info = mm.CLASSES.get(dtmi) if kind in {TermKind.DEFINED, TermKind.DTMI} else None
            if info is not None and info.material and not info.extensible:
                if info.abstract:
                    self.error(file, where, Code.TYPE_INVALID, f"'{entry}' is an abstract type")
                elif dtmi not in materials:
                    materials.append(dtmi)
                continue
            if info is not None and not info.abstract:
                if dtmi not in cotypes:
                    cotypes.append(dtmi)
                continue
            category = (
                "irrelevantDtmiOrTerm" if kind in {TermKind.DEFINED, TermKind.DTMI} else str(kind)
            )
            if tolerated(category, "asCotype", ctx):
                undefined = True
                continue
            code = Code.UNDEFINED_TERM if category == "undefinedTerm" else Code.TYPE_INVALID
            self.error(file, where, code, f"'{entry}' is not a DTDL type usable here")
        if not materials:
            wanted = ", ".join(sorted({mm.CLASSES[c].name for c in expected or ()}))
            self.error(
                file,
                where,
                Code.TYPE_NOT_ALLOWED,
                f"@type needs a DTDL element type{' (' + wanted + ')' if wanted else ''}",
            )
            return None
        if len(materials) > 1:
            self.error(file, where, Code.TYPE_AMBIGUOUS, "@type names more than one element type")
            return None
        material = materials[0]
        if expected is None:
            if not mm.CLASSES[material].partition:
                self.error(
                    file,
                    where,
                    Code.NOT_ROOTABLE,
                    f"a top-level element must be an Interface, not {mm.CLASSES[material].name}",
                )
                return None
        elif not mm.is_a(material, expected):
            wanted = ", ".join(sorted({mm.CLASSES[c].name for c in expected if c in mm.CLASSES}))
            self.error(
                file,
                where,
                Code.TYPE_NOT_ALLOWED,
                f"{mm.CLASSES[material].name} is not allowed here (expected {wanted})",
            )
            return None
        for cotype in cotypes:
            self._check_cotype(cotype, material, cotypes, file, where)
        semantic = [c for c in cotypes if mm.is_a(c, mm.SEMANTIC_TYPES)]
        if len(semantic) > 1:
            self.error(file, where, Code.COTYPE_NOT_ALLOWED, "at most one semantic type is allowed")
        return material, cotypes, undefined

    def _check_cotype(
        self, cotype: str, material: str, cotypes: list[str], file: str, where: str
    ) -> None:
        for cls in sorted(mm.lineage(cotype)):
            info = mm.CLASSES.get(cls)
            if info is None:
                continue
            if info.hosts and not mm.is_a(material, info.hosts):
                self.error(
                    file,
                    where,
                    Code.COTYPE_NOT_ALLOWED,
                    f"co-type {mm.CLASSES[cotype].name} cannot apply to "
                    f"{mm.CLASSES[material].name}",
                )
                return
            for required in info.requires:
                if not any(required in mm.lineage(c) for c in cotypes):
                    self.error(
                        file,
                        where,
                        Code.COTYPE_NOT_ALLOWED,
                        f"co-type {info.name} requires co-type {required}",
                    )

    def _identifier(
        self,
        obj: dict[str, object],
        ctx: Context,
        info: mm.ClassInfo,
        file: str,
        pointer: str,
        id_required: bool,
        parent: Node | None,
    ) -> tuple[str, bool]:
        where = pointer_join(pointer, "@id")
        raw = obj.get("@id")
        if raw is None:
            if id_required or info.partition or "@id" in obj:
                self.error(file, pointer, Code.ID_REQUIRED, f"{info.name} requires an @id DTMI")
            self._anonymous += 1
            base = parent.id if parent else "dtmi:twinmesh:anonymous"
            return f"{base.split(';')[0]}:__{self._anonymous};0", False
        if not isinstance(raw, str):
            self.error(file, where, Code.ID_NOT_STRING, "@id must be a single DTMI string")
            self._anonymous += 1
            return f"dtmi:twinmesh:invalid:__{self._anonymous};0", False
        if not mm.ID_PATTERNS[ctx.version].match(raw):
            self.error(file, where, Code.ID_INVALID, f"'{raw}' is not a valid DTMI")
        elif raw.startswith(mm.RESERVED_PREFIXES):
            self.error(file, where, Code.ID_RESERVED, f"'{raw}' uses a reserved DTMI prefix")
        limit = info.id_max or mm.GLOBALS[ctx.version]["id_max"]
        if limit and len(raw) > limit:
            self.error(
                file, where, Code.ID_TOO_LONG, f"{info.name} @id is longer than {limit} characters"
            )
        return raw, True

    # properties ----------------------------------------------------------------------------
    def _properties(self, node: Node, obj: dict[str, object], ctx: Context) -> None:
        seen: dict[str, str] = {}
        for key, value in obj.items():
            if key.startswith("@"):
                continue
            where = pointer_join(node.pointer, key)
            kind, dtmi = classify(key, ctx)
            name = (
                mm.PROPERTY_NAMES.get(dtmi) if kind in {TermKind.DEFINED, TermKind.DTMI} else None
            )
            if name is None or name not in node.constraints:
                category = (
                    "irrelevantDtmiOrTerm"
                    if kind in {TermKind.DEFINED, TermKind.DTMI}
                    else str(kind)
                )
                if node.undefined_cotype and tolerated(category, "asProperty", ctx):
                    continue
                code = (
                    Code.UNDEFINED_TERM
                    if category == "undefinedTerm"
                    else Code.PROPERTY_NOT_ALLOWED
                )
                self.error(
                    node.file,
                    where,
                    code,
                    f"'{key}' is not a property of {mm.CLASSES[node.material].name}",
                )
                continue
            if name in seen:
                self.error(
                    node.file,
                    where,
                    Code.PROPERTY_DUPLICATE,
                    f"'{key}' repeats property '{seen[name]}'",
                )
                continue
            seen[name] = key
            node.prop_pointers[name] = where
            self._values.read(node, name, value, ctx, where)
        for name, constraints in node.constraints.items():
            for constraint in constraints:
                given = name in seen and obj[seen[name]] != []
                if constraint.min > 0 and not node.props.get(name) and not given:
                    self.error(
                        node.file,
                        node.pointer,
                        Code.PROPERTY_REQUIRED,
                        f"{mm.CLASSES[node.material].name} requires property '{name}'",
                    )
                    break
