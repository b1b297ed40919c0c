"""Safe YAML loading that keeps the line and column of every value, in one pass.

PyYAML composes the document into nodes (libyaml's C composer when available); this module turns
the nodes into plain JSON-like values and records where each value and each mapping key stands.
It keeps YAML 1.1 scalar meaning exactly as PyYAML's safe loader gives it (it calls the same
constructors), refuses every tag outside the safe set, refuses duplicate keys and non-string keys,
and bounds alias expansion so that an alias bomb is refused quickly instead of eating memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from orgdrift.errors import Problem, SpecError

try:  # libyaml's parser: about 4x faster than the pure-Python scanner and parser
    from yaml._yaml import CParser

    class _Loader(Composer, CParser, Resolver):
        """libyaml's C parser under PyYAML's Python composer.

        libyaml's own composer (CSafeLoader) recurses on the C stack and kills the process with
        SIGSEGV on a document nested some 50,000 levels deep (`[[[[...`); the Python composer
        raises RecursionError instead, which `load_yaml` reports. It costs about 15% more.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            Resolver.__init__(self)

except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 64 * 1024 * 1024
"""Refuse input files larger than this (a 10,000-organization spec is about 6 MB)."""

MAX_DEPTH = 64
"""Refuse values nested deeper than this; a spec needs about eight levels."""

MAX_NODES_FACTOR = 4
MIN_NODE_BUDGET = 100_000
"""Alias expansion budget: at most max(MIN_NODE_BUDGET, MAX_NODES_FACTOR x source size) values."""

PathKey = str | int
Path = tuple[PathKey, ...]

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS: dict[str, Callable[[SafeConstructor, ScalarNode], Any]] = {
    "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
    "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:int": SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
    _STR: SafeConstructor.construct_yaml_str,
    "tag:yaml.org,2002:timestamp": SafeConstructor.construct_yaml_timestamp,
}
_SEQ_TAGS = {"tag:yaml.org,2002:seq"}
_MAP_TAGS = {"tag:yaml.org,2002:map"}


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A YAML document as plain values, with the position of every value and mapping key."""

    file: str
    data: Any
    values: dict[Path, Mark]
    keys: dict[Path, Mark]  # path of the key itself, e.g. ("organizations", 0, "nmae")

    def mark_for(self, path: Path, *, key: bool = False) -> Mark:
        """The position of `path` (of its key when `key`), else of its nearest ancestor."""
        probe = path
        while True:
            table = self.keys if key and probe == path else self.values
            found = table.get(probe)
            if found is not None:
                return found
            if not probe:
                return Mark(1, 1)
            probe = probe[:-1]


def json_path(path: Path) -> str:
    """`("organizations", 0, "name")` -> `$.organizations[0].name`."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


def read_text(file: str, raw: bytes) -> str:
    """Decode UTF-8 (a BOM is allowed) or raise a located SpecError."""
    if len(raw) > MAX_BYTES:
        raise SpecError([Problem(file, 0, 0, "", f"file is larger than {MAX_BYTES} bytes")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        msg = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        raise SpecError([Problem(file, line, column, "", msg)]) from None


def load_yaml(file: str, text: str) -> LoadedDocument:
    """Compose one YAML document and convert it, keeping marks. Raises SpecError."""
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise SpecError([Problem(file, line, column, "", f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(file, 0, 0, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise SpecError([Problem(file, 0, 0, "", "YAML nested too deeply")]) from None
    if root is None:
        raise SpecError([Problem(file, 1, 1, "", "the file is empty: expected a YAML mapping")])
    budget = max(MIN_NODE_BUDGET, MAX_NODES_FACTOR * len(text))
    converter = _Converter(file, budget)
    data = converter.convert(root, ())
    return LoadedDocument(file, data, converter.values, converter.keys)


class _Converter:
    def __init__(self, file: str, budget: int) -> None:
        self.file = file
        self.budget = budget
        self.values: dict[Path, Mark] = {}
        self.keys: dict[Path, Mark] = {}
        self._constructor = SafeConstructor()
        self._active: set[int] = set()

    def fail(self, node: Node, path: Path, message: str) -> SpecError:
        mark = node.start_mark
        return SpecError(
            [Problem(self.file, mark.line + 1, mark.column + 1, json_path(path), message)]
        )

    def spend(self, node: Node, path: Path) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise self.fail(node, path, "aliases expand into too many values (alias bomb?)")

    def convert(self, node: Node, path: Path) -> Any:
        self.spend(node, path)
        self.values[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        if len(path) > MAX_DEPTH:
            raise self.fail(node, path, f"values are nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:
            raise self.fail(node, path, "recursive alias")
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag not in _SEQ_TAGS:
                    raise self.fail(node, path, f"tag {node.tag!r} is not allowed")
                return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self._active.discard(id(node))
        raise self.fail(node, path, "unsupported YAML node")  # pragma: no cover

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        construct = _SCALAR_TAGS.get(node.tag)
        if construct is None:
            raise self.fail(node, path, f"tag {node.tag!r} is not allowed")
        try:
            return construct(self._constructor, node)
        except (ConstructorError, ValueError) as exc:
            raise self.fail(node, path, f"invalid {node.tag.rsplit(':', 1)[-1]}: {exc}") from None

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        if node.tag not in _MAP_TAGS:
            raise self.fail(node, path, f"tag {node.tag!r} is not allowed")
        # Merged values first, so that the marks of explicit keys (which win) overwrite theirs.
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(self._merge_sources(value_node, path))
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
                msg = (
                    f"mapping key {key_node.value!r} must be a string (quote it)"
                    if isinstance(key_node, ScalarNode)
                    else "a mapping key must be a string, not a collection"
                )
                raise self.fail(key_node, path, msg)
            key = str(key_node.value)
            if key in result:
                raise self.fail(key_node, (*path, key), f"duplicate key {key!r}")
            self.keys[(*path, key)] = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.convert(value_node, (*path, key))
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_sources(self, node: Node, path: Path) -> dict[str, Any]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            self.spend(source, path)  # merging empty mappings must not escape the budget
            if not isinstance(source, MappingNode):
                raise self.fail(source, path, "a merge key (<<) must name a mapping")
            if id(source) in self._active:
                raise self.fail(source, path, "recursive alias")
            self._active.add(id(source))
            try:
                merged.update(self._mapping(source, path))
            finally:
                self._active.discard(id(source))
        return merged
