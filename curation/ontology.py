"""The AudioSet ontology: label names for MIDs, and each label's top-level category.

AudioSet clip lists name labels by MID (``/m/09x0r``); published data names them (``Speech``). AVSET-10M
reports clips per AudioSet category (Figure 2); the seven top-level categories are the ontology's roots
(Human sounds, Animal, Music, ...). A label under several roots counts for each of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

SHIPPED = "data/audioset_ontology.json"  # inside the curation package


@dataclass(frozen=True)
class Ontology:
    names: dict[str, str]  # MID -> display name
    roots: dict[str, frozenset[str]]  # MID -> names of the top-level categories it lies under
    source: str
    by_name: dict[str, str]  # casefolded display name -> MID

    def mid_of(self, name: str) -> str | None:
        """The MID of a display name (taggers such as AST report names), case-insensitive."""
        return self.by_name.get(name.casefold())


def parse_ontology(data: object, source: str) -> Ontology:
    """Google's ``ontology.json`` (a list of {id, name, child_ids}) or the shipped {classes: [...]} form."""
    classes = data.get("classes") if isinstance(data, dict) else data
    if not isinstance(classes, list) or not all(isinstance(c, dict) and "id" in c and "name" in c for c in classes):
        raise ValueError(f"{source}: not an AudioSet ontology (expected a list of objects with id, name, child_ids)")
    names = {c["id"]: c["name"] for c in classes}
    children = {c["id"]: list(c.get("child_ids", [])) for c in classes}
    unknown = sorted({k for kids in children.values() for k in kids} - set(names))
    if unknown:
        raise ValueError(f"{source}: child ids {unknown[:5]} are not defined in the ontology")
    has_parent = {k for kids in children.values() for k in kids}
    roots: dict[str, set[str]] = {mid: set() for mid in names}
    for root in (mid for mid in names if mid not in has_parent):
        stack, seen = [root], set()
        while stack:  # the ontology is a DAG: a label can sit under several parents
            mid = stack.pop()
            if mid not in seen:
                seen.add(mid)
                roots[mid].add(names[root])
                stack.extend(children[mid])
    by_name = {name.casefold(): mid for mid, name in names.items()}
    return Ontology(names, {mid: frozenset(r) for mid, r in roots.items()}, source, by_name)


def load_ontology(path: str | Path | None = None) -> Ontology:
    """The shipped AudioSet ontology (CC BY-SA 4.0, Google), or one read from ``path``."""
    if path is None:
        return _shipped()
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"ontology file {path}: not JSON ({error})") from error
    return parse_ontology(data, str(path))


@cache
def _shipped() -> Ontology:
    text = resources.files("curation").joinpath(SHIPPED).read_text(encoding="utf-8")
    return parse_ontology(json.loads(text), f"curation/{SHIPPED}")


__all__ = ["Ontology", "load_ontology", "parse_ontology"]
