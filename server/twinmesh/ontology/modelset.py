"""Validate a set of DTDL documents together and produce a ``ModelSet``.

All documents are parsed first, then references are resolved across the whole set (plus any
Interfaces accepted earlier), then the whole-model rules run, and finally the resolved public
``Interface`` view is built.  Unknown referenced DTMIs make the set *incomplete*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from twinmesh.ontology import metamodel as mm
from twinmesh.ontology.build import Builder
from twinmesh.ontology.model import Interface, ModelSet, SourceDocument
from twinmesh.ontology.parser import Parser
from twinmesh.ontology.references import Resolver
from twinmesh.ontology.structure import StructureChecker


def parse_model_set(
    documents: Sequence[SourceDocument],
    *,
    allow_undefined_extensions: bool = False,
    known: Mapping[str, Interface] | None = None,
) -> ModelSet:
    """Parse and validate ``documents`` as one model set."""
    parser = Parser(allow_undefined=allow_undefined_extensions)
    for document in documents:
        parser.parse_document(document.file, document.content)
    resolver = Resolver(parser.nodes, known or {}, parser.diagnostics)
    resolver.index()
    resolver.check_all()
    structure = StructureChecker(resolver, parser.roots)
    structure.run()
    builder = Builder(resolver, structure)
    interfaces: dict[str, Interface] = {}
    for node in parser.nodes:
        if node.explicit_id and mm.CLASSES[node.material].name == "Interface":
            interfaces.setdefault(node.id, builder.interface(node))
    documents_by_id = {node.id: raw for node, raw in parser.roots if node.explicit_id}
    errors = parser.diagnostics
    return ModelSet(
        valid=not errors,
        complete=not resolver.unresolved,
        errors=errors,
        unresolved=sorted(resolver.unresolved),
        interfaces=interfaces,
        documents=documents_by_id,
    )
