"""Safe YAML loading that keeps the line and column of every value, in one pass over the events.

libyaml's parser (PyYAML's pure-Python one where libyaml is missing) turns the text into events;
this module builds plain JSON-like values straight from them and records where each value and
each mapping key stands. No node tree is built: that tree took about 30 bytes of memory per byte
of spec and most of the load time. Scalars keep their YAML 1.1 meaning exactly as PyYAML's safe
loader gives it (the loader's own resolver and `SafeConstructor`). Every tag outside the safe
set, duplicate and non-string keys (two `<<` merge keys in one mapping too: PyYAML releases
disagree on which wins), recursive aliases and nesting deeper than `MAX_DEPTH` are refused with a
located problem, the same whichever parser or PyYAML release reads the text; an alias costs as
many values as it expands to, against a budget, so an alias bomb is refused quickly instead of
eating memory.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from orgdrift.errors import InputError, Location, Problem

_PyParser: type[Any] = yaml.SafeLoader
"""PyYAML's pure-Python safe loader, used here as an event parser (a state machine, no limit on
nesting) with its resolver and its `SafeConstructor` for scalars."""

_Parser: type[Any] = _PyParser
if yaml.__with_libyaml__:
    _Parser = yaml.CSafeLoader
    """The same with libyaml's parser, about 4x faster, where PyYAML was built with it."""

MAX_BYTES = 64 * 1024 * 1024
"""Refuse input files larger than this (a 10,000-organization spec is about 6 MB)."""

MAX_DEPTH = 64
"""Refuse values nested deeper than this; a spec needs about eight levels."""

_TOO_DEEP = f"values are nested more than {MAX_DEPTH} levels deep"

MAX_NODES_FACTOR = 4
MIN_NODE_BUDGET = 100_000
"""Alias expansion budget: the values aliases add may bring the total to at most
max(MIN_NODE_BUDGET, MAX_NODES_FACTOR x the values written out), never more than MAX_VALUES. The
budget counts values, not bytes: comments, blank lines and long scalars do not raise it."""

MAX_VALUES = 1_000_000
"""Refuse a document of more values than this, written out or expanded from aliases (a
10,000-organization spec has about 211,000). A value nested 16 levels deep or more counts
1 + depth // 16 times: its marks hold its whole path, so it costs more to keep."""

Path = tuple[str | int, ...]

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
_COLLECTION_TAGS = {SequenceNode: "tag:yaml.org,2002:seq", MappingNode: "tag:yaml.org,2002:map"}


class _Mark(NamedTuple):
    """A 1-based line and column (a named tuple: there is one per value, so it must be cheap)."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A YAML document as plain values, with the position of every value and mapping key."""

    file: str
    data: Any
    values: dict[Path, _Mark]
    keys: dict[Path, _Mark]  # path of the key itself, e.g. ("organizations", 0, "nmae")

    def location(self, path: Path, *, key: bool = False) -> Location:
        """Where `path` is written (its key when `key`), else its nearest ancestor."""
        probe = path
        while True:
            table = self.keys if key and probe == path else self.values
            found = table.get(probe)
            if found is not None:
                return Location(self.file, *found)
            if not probe:
                return Location(self.file, 1, 1)
            probe = probe[:-1]

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        """A problem with the value at `path` (with its key when `key`), located there."""
        at = self.location(path, key=key)
        return Problem(self.file, at.line, at.column, json_path(path), message)


EXCERPT_CHARS = 60
"""An error quotes at most this much of the input: enough to find it, too little to leak it."""


def excerpt(value: Any) -> str:
    """`repr(value)`, cut to EXCERPT_CHARS characters."""
    return _cut(repr(value))


def _cut(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."


def json_path(path: Path) -> str:
    """`("organizations", 0, "name")` -> `$.organizations[0].name`."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + excerpt(part) + "]"
    return out


def read_text(file: str, raw: bytes) -> str:
    """Decode UTF-8 (a BOM is allowed) or raise a located InputError."""
    if len(raw) > MAX_BYTES:
        raise InputError([Problem(file, 0, 0, "", f"file is larger than {MAX_BYTES} bytes")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        msg = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        raise InputError([Problem(file, line, column, "", msg)]) from None


def load_yaml(file: str, text: str) -> LoadedDocument:
    """Parse one YAML document into values, keeping marks. Raises InputError."""
    try:
        return _load(file, text, _Parser)
    except _ParserNestingLimit:
        # libyaml (0.2.6 on, bundled from PyYAML 6.0.4) stops at 1,000 levels, and in flow
        # collections it notices while reading ahead, before the builder reaches its own limit.
        # The pure-Python parser has no such limit, so the builder stops at the same place, with
        # the same located error, whichever libyaml is installed.
        return _load(file, text, _PyParser)


class _ParserNestingLimit(Exception):
    """The parser refused to nest any deeper (libyaml's own limit), before the builder did."""


def _load(file: str, text: str, parser_class: type[Any]) -> LoadedDocument:
    parser = parser_class(text)
    try:
        builder = _Builder(file, parser)
        data = builder.document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        if "nesting" in (exc.problem or ""):
            if parser_class is not _PyParser:
                raise _ParserNestingLimit from None
            message = _TOO_DEEP  # should a later PyYAML's own parser get a limit too
        else:
            what = ", ".join(part for part in (exc.context, exc.problem) if part)
            message = f"YAML syntax error: {what or 'invalid YAML'}"
        raise InputError([Problem(file, line, column, "", message)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file, 0, 0, "", f"YAML error: {_cut(str(exc))}")]) from None
    finally:
        parser.dispose()
    if data is _EMPTY:
        raise InputError([Problem(file, 1, 1, "", "the file is empty: expected a YAML mapping")])
    return LoadedDocument(file, data, dict(builder.value_log), dict(builder.key_log))


_EMPTY = object()
_PLAIN_CACHE = 4096
_MERGE_SLOT = -1
"""Path element under which a merge key's value is read before it is merged (never an index)."""

Entries = list[tuple[Path, _Mark]]


@dataclass(frozen=True, slots=True)
class _Anchor:
    value: Any
    mark: _Mark
    values: Entries  # marks of the anchored value and everything in it, paths relative to it
    keys: Entries
    depth: int  # the longest relative path


def _mark(event: Any) -> _Mark:
    start = event.start_mark
    return _new_mark(_Mark, (start.line + 1, start.column + 1))


_new_mark = tuple.__new__  # _Mark(line, column) without NamedTuple's Python-level __new__


class _Builder:
    """Values from parser events, recursively; nesting is capped at MAX_DEPTH levels, so the
    recursion is too."""

    def __init__(self, file: str, parser: Any) -> None:
        self.file = file
        self.parser: Any = parser  # PyYAML's stubs type events loosely: Any at this edge
        self.written = 0  # values written out in the text (not through an alias)
        self.total = 0  # every value built, aliases expanded
        # Marks in document order; a later entry for the same path wins (explicit keys over
        # merged ones). Kept as lists so that an anchor can take its slice.
        self.value_log: Entries = []
        self.key_log: Entries = []
        self._anchors: dict[str, _Anchor | None] = {}  # None while the anchored value is read
        self._anchor_events: dict[str, Any] = {}
        self._plain: dict[str, str] = {}  # tag of each plain scalar text seen (keys repeat a lot)

    # --- errors and limits ---

    def fail(self, mark: _Mark, path: Path, message: str) -> InputError:
        if _MERGE_SLOT in path:  # inside a merge key's value: report the merging mapping
            path = path[: path.index(_MERGE_SLOT)]
        return InputError([Problem(self.file, mark.line, mark.column, json_path(path), message)])

    def count(self, mark: _Mark, path: Path) -> None:
        """One value written out in the text."""
        self.written += 1
        self.total += 1 + (len(path) >> 4)
        if self.total > MAX_VALUES:
            raise self.fail(mark, path, f"more than {MAX_VALUES:,} values")

    def spend(self, mark: _Mark, path: Path, count: int) -> None:
        """`count` values an alias (or a merge) adds without writing them out."""
        self.total += count
        budget = max(MIN_NODE_BUDGET, MAX_NODES_FACTOR * self.written)
        if self.total > min(budget, MAX_VALUES):
            raise self.fail(mark, path, "aliases expand into too many values (alias bomb?)")

    # --- the stream ---

    def document(self) -> Any:
        parser = self.parser
        parser.get_event()  # StreamStartEvent
        if parser.check_event(StreamEndEvent):
            return _EMPTY
        start = parser.get_event()  # DocumentStartEvent
        data = self.node(())
        parser.get_event()  # DocumentEndEvent
        if not parser.check_event(StreamEndEvent):
            extra = parser.get_event()
            raise ComposerError(
                "expected a single document in the stream",
                start.start_mark,
                "but found another document",
                extra.start_mark,
            )
        return data

    def node(self, path: Path) -> Any:
        event = self.parser.get_event()
        mark = _mark(event)
        if isinstance(event, AliasEvent):
            return self._alias(event, mark, path)
        self.count(mark, path)
        self.value_log.append((path, mark))
        if len(path) > MAX_DEPTH:
            raise self.fail(mark, path, _TOO_DEEP)
        if type(event) is ScalarEvent and event.anchor is None:  # most values: the fast path
            return self._scalar(event, mark, path)
        anchor = event.anchor if isinstance(event, ScalarEvent | CollectionStartEvent) else None
        if anchor is not None:
            self._open(anchor, event)
            start = len(self.value_log) - 1, len(self.key_log)
        if isinstance(event, ScalarEvent):
            value = self._scalar(event, mark, path)
        elif isinstance(event, SequenceStartEvent):
            value = self._sequence(event, mark, path)
        else:  # MappingStartEvent: the parser gives no other event here
            value = self._mapping(event, mark, path)
        if anchor is not None:
            values, keys = self._since(start, len(path))
            depth = max(len(p) for p, _ in values)
            self._anchors[anchor] = _Anchor(value, mark, values, keys, depth)
        return value

    # --- anchors and aliases ---

    def _open(self, anchor: str, event: Any) -> None:
        first = self._anchor_events.get(anchor)
        if first is not None:
            raise ComposerError(
                f"found duplicate anchor {excerpt(anchor)}; first occurrence",
                first.start_mark,
                "second occurrence",
                event.start_mark,
            )
        self._anchor_events[anchor] = event
        self._anchors[anchor] = None

    def _since(self, start: tuple[int, int], n: int) -> tuple[Entries, Entries]:
        """The marks logged since `start` (value and key log lengths), paths less `n` elements."""
        values = [(p[n:], m) for p, m in self.value_log[start[0] :]]
        return values, [(p[n:], m) for p, m in self.key_log[start[1] :]]

    def _anchored(self, event: Any, path: Path) -> _Anchor:
        """What an alias event names; undefined or still being read (recursive) is an error."""
        name = event.anchor
        if name not in self._anchors:
            raise ComposerError(
                None, None, f"found undefined alias {excerpt(name)}", event.start_mark
            )
        anchor = self._anchors[name]
        if anchor is None:
            raise self.fail(_mark(self._anchor_events[name]), path, "recursive alias")
        return anchor

    def _alias(self, event: Any, mark: _Mark, path: Path) -> Any:
        anchor = self._anchored(event, path)
        self.spend(mark, path, len(anchor.values) * (1 + ((len(path) + anchor.depth) >> 4)))
        if len(path) + anchor.depth > MAX_DEPTH:
            raise self.fail(mark, path, _TOO_DEEP)
        self.value_log.extend(((*path, *rel), m) for rel, m in anchor.values)
        self.key_log.extend(((*path, *rel), m) for rel, m in anchor.keys)
        return copy.deepcopy(anchor.value)  # every place it appears can be changed alone

    # --- scalars and collections ---

    def _scalar_tag(self, event: Any) -> str:
        tag = event.tag
        if tag is not None and tag != "!":
            return str(tag)
        implicit = event.implicit
        if not implicit[0]:  # quoted, or a block scalar: a string unless tagged
            return str(self.parser.resolve(ScalarNode, event.value, implicit))
        value = event.value
        found = self._plain.get(value)
        if found is None:
            found = str(self.parser.resolve(ScalarNode, value, implicit))
            if len(self._plain) < _PLAIN_CACHE:
                self._plain[value] = found
        return found

    def _scalar(self, event: Any, mark: _Mark, path: Path) -> Any:
        tag = self._scalar_tag(event)
        if tag == _STR:
            return event.value
        construct = _SCALAR_TAGS.get(tag)
        if construct is None:
            raise self.fail(mark, path, f"tag {excerpt(tag)} is not allowed")
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return construct(self.parser, node)  # the loader's own SafeConstructor
        except (ConstructorError, ValueError) as exc:
            raise self.fail(
                mark, path, f"invalid {tag.rsplit(':', 1)[-1]}: {_cut(str(exc))}"
            ) from None

    def _check_tag(self, event: Any, kind: type[Any], mark: _Mark, path: Path) -> None:
        """Refuse a collection tagged other than as the plain sequence or mapping it is."""
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.parser.resolve(kind, None, event.implicit)
        if str(tag) != _COLLECTION_TAGS[kind]:
            raise self.fail(mark, path, f"tag {excerpt(str(tag))} is not allowed")

    def _sequence(self, event: Any, mark: _Mark, path: Path) -> list[Any]:
        self._check_tag(event, SequenceNode, mark, path)
        items: list[Any] = []
        parser = self.parser
        while type(parser.peek_event()) is not SequenceEndEvent:
            items.append(self.node((*path, len(items))))
        parser.get_event()
        return items

    def _mapping(self, event: Any, mark: _Mark, path: Path) -> dict[str, Any]:
        self._check_tag(event, MappingNode, mark, path)
        result: dict[str, Any] = {}
        merge: _Merge | None = None
        parser = self.parser
        while type(parser.peek_event()) is not MappingEndEvent:
            name, key_mark = self._key(path)
            if name is None:
                if merge is not None:  # PyYAML 6.0.4 lets the first win, older ones the last
                    raise self.fail(key_mark, (*path, "<<"), "duplicate key '<<'")
                merge = self._merge_value(path)
                continue
            child = (*path, name)
            if name in result:
                raise self.fail(key_mark, child, f"duplicate key {excerpt(name)}")
            self.key_log.append((child, key_mark))
            result[name] = self.node(child)
        parser.get_event()
        if merge is not None:
            self._apply_merge(result, merge, path)
        return result

    def _key(self, path: Path) -> tuple[str | None, _Mark]:
        """A mapping key: its text and mark; None and the mark for a merge key (`<<`)."""
        event: Any = self.parser.get_event()
        mark = _mark(event)
        if isinstance(event, CollectionStartEvent):
            raise self.fail(mark, path, "a mapping key must be a string, not a collection")
        if isinstance(event, ScalarEvent):
            tag = self._scalar_tag(event)
            if tag == _MERGE:
                return None, mark
            if tag != _STR:
                raise self.fail(
                    mark, path, f"mapping key {excerpt(event.value)} must be a string (quote it)"
                )
            if event.anchor is not None:
                self._open(event.anchor, event)
                self._anchors[event.anchor] = _Anchor(event.value, mark, [((), mark)], [], 0)
            return event.value, mark
        # Otherwise an alias as a key: it must name a string.
        anchor = self._anchored(event, path)
        self.spend(mark, path, 1)
        if isinstance(anchor.value, str):
            return anchor.value, mark
        if isinstance(anchor.value, dict | list):
            raise self.fail(mark, path, "a mapping key must be a string, not a collection")
        raise self.fail(
            mark, path, f"mapping key {excerpt(anchor.value)} must be a string (quote it)"
        )

    # --- merge keys (<<) ---

    def _merge_value(self, path: Path) -> _Merge:
        """Read the value of a merge key: a mapping or a list of mappings, with their marks."""
        start = len(self.value_log), len(self.key_log)
        value = self.node((*path, _MERGE_SLOT))
        values, keys = self._since(start, len(path) + 1)
        del self.value_log[start[0] :]
        del self.key_log[start[1] :]
        marks = {p: m for p, m in values if len(p) <= 1}
        sources: list[tuple[Path, Any]] = (
            [((i,), item) for i, item in enumerate(value)]
            if isinstance(value, list)
            else [((), value)]
        )
        for prefix, source in sources:
            if not isinstance(source, dict):
                raise self.fail(marks[prefix], path, "a merge key (<<) must name a mapping")
            self.spend(marks[prefix], path, 1)  # merging empty mappings is not free either
        return _Merge(cast(list[tuple[Path, dict[str, Any]]], sources), values, keys)

    def _apply_merge(self, result: dict[str, Any], merge: _Merge, path: Path) -> None:
        """Merged keys, where no explicit key says otherwise: the first mapping listed wins (as
        PyYAML does)."""
        chosen: dict[str, Path] = {}
        for prefix, source in reversed(merge.sources):
            chosen.update(dict.fromkeys(source, prefix))
        sources = dict(merge.sources)
        for name, prefix in chosen.items():
            if name in result:
                continue
            result[name] = sources[prefix][name]
            head = (*prefix, name)
            n = len(prefix)
            self.value_log.extend(
                ((*path, *p[n:]), m) for p, m in merge.values if p[: n + 1] == head
            )
            self.key_log.extend(((*path, *p[n:]), m) for p, m in merge.keys if p[: n + 1] == head)


@dataclass(frozen=True, slots=True)
class _Merge:
    sources: list[tuple[Path, dict[str, Any]]]  # each mapping merged, by its place in the value
    values: Entries  # marks, paths relative to the merge key's value
    keys: Entries
