"""Reading a stack file's YAML safely: bounded, strict about duplicate keys, and silent about values.

A stack file may come from a hostile pull request, and CI plans it. The loader decides while it parses:

- a file over `MAX_BYTES` is refused before it is parsed;
- nesting deeper than `MAX_DEPTH` is refused where it starts (no RecursionError further on);
- aliases may expand the document to at most `MAX_NODES` values in all, and there may be at most `MAX_ALIASES`
  of them (a "billion laughs" file of 2 KB is refused at the alias that crosses the bound, not after a minute of
  expansion), and an alias may not refer to a value that contains it;
- a key written twice in one mapping is refused with both lines (YAML keys are unique; Pulumi's own parser
  would silently keep one of them);
- only the core schema is read: strings, numbers, booleans, null, lists and mappings. Other tags (`!foo`,
  `!!binary`, `!!set`…) are refused; timestamps and base-60 numbers (`19:30`) stay strings and mapping keys are
  their text, as Pulumi's Go parser hands them to the program.

Errors name the line and the key being read, never a value: a password written unquoted as `!x…` or `*x…`
must not be quoted back (PyYAML's own messages quote tags and aliases).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver, Resolver

from llmscale.config.errors import shown_key

try:  # libyaml's scanner and parser: several times faster than PyYAML's own on large files
    from yaml.cyaml import CParser as _EventParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _EventParser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 20_000
MAX_ALIASES = 256
MAX_SHOWN = 8  # key segments named in a message
TOO_LARGE = f"is larger than {MAX_BYTES // 1024} KiB, the most a stack file may be"

_CORE = "tag:yaml.org,2002:"
_MERGE = _CORE + "merge"
_SCALAR_TAGS = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null"))
# Quoted parts of a parser message that name YAML syntax, not the input: '<block end>', ',', ']'.
_SYNTAX_WORD = re.compile(r"^(<[a-z ]+>|[-,:?\[\]{}])$")


class StackYamlError(Exception):
    """A stack file's YAML cannot be read: the line (1-based, when known), the key being read, and why."""

    def __init__(self, line: int | None, key: str | None, message: str) -> None:
        self.line = line
        self.key = key
        self.message = message
        where = " ".join(part for part in (f"line {line}:" if line else "", f"{key}:" if key else "") if part)
        super().__init__(f"{where} {message}".strip())


def _key_text(segment: str | int) -> str:
    if isinstance(segment, int):
        return f"[{segment}]"
    return segment if segment == "…" else shown_key(segment)


def display_key(path: Sequence[str | int]) -> str | None:
    """A YAML position as users name it: `llmscale:models[0].name` under `config:`, else the top-level key."""
    parts = list(path)
    if parts[:1] == ["config"] and len(parts) > 1:
        parts = parts[1:]
    if not parts:
        return None
    if len(parts) > MAX_SHOWN:
        parts = [*parts[:MAX_SHOWN], "…"]
    text = ""
    for part in parts:
        shown = _key_text(part)
        text += shown if shown.startswith("[") or not text else f".{shown}"
    return text


def _problem(problem: str | None) -> str:
    """A PyYAML/libyaml problem with every quoted piece of input removed (syntax words such as ']' stay)."""
    if not problem:
        return "a syntax error"
    if problem.startswith("but found another document"):
        return "a second document; a stack file holds one"

    def keep_syntax(match: re.Match[str]) -> str:
        inner = match.group(0)[1:-1]
        return match.group(0) if _SYNTAX_WORD.match(inner) else "…"

    return re.sub(r"'[^']*'|\"[^\"]*\"", keep_syntax, problem)


class _StackResolver(BaseResolver):
    """YAML 1.1's implicit types as Pulumi's Go parser reads them: timestamps, `=` and base-60 numbers (`19:30`)
    stay strings. (go-yaml resolves numbers with strconv, which has no base 60, and hands timestamps to an
    untyped value as their text.)"""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in entries if tag not in (_CORE + "timestamp", _CORE + "value")]
        for first, entries in Resolver.yaml_implicit_resolvers.items()
    }

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        """The tag of an untagged node; a plain scalar with ':' is never a number."""
        tag = super().resolve(kind, value, implicit)
        if tag in (_CORE + "int", _CORE + "float") and ":" in value:
            return _CORE + "str"
        return tag


class _BoundedComposer(Composer):
    """PyYAML's composer with the bounds, the duplicate-key rule and value-free messages."""

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str | int] = []
        self._depth = 0
        self._nodes = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}  # id(anchored node) → values it stands for, once complete

    def refuse(self, mark: Any, message: str, path: Sequence[str | int] | None = None) -> StackYamlError:
        """The error to raise at `mark`, naming the key being read (the current position unless `path`)."""
        line = mark.line + 1 if mark is not None else None
        return StackYamlError(line, display_key(self.path if path is None else path), message)

    def _count(self, nodes: int, mark: Any) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise self.refuse(
                mark, f"expands to more than {MAX_NODES} values (aliases included); a stack file needs a few hundred"
            )

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        """One node, with the position kept for messages and the bounds checked before anything below it."""
        segment = index.value if isinstance(index, ScalarNode) else index if isinstance(index, int) else None
        if isinstance(index, Node) and segment is None:
            segment = "<key>"
        if segment is not None:
            self.path.append(segment)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise self.refuse(self.peek_event().start_mark, f"nested more than {MAX_DEPTH} levels deep")
            if self.check_event(AliasEvent):
                return self._alias(self.get_event())
            event = self.peek_event()
            if event.anchor is not None and event.anchor in self.anchors:
                raise self.refuse(
                    event.start_mark, _syntax("an anchor defined twice; quote a value that starts with &")
                )
            before = self._nodes
            self._count(1, event.start_mark)
            self.descend_resolver(parent, index)
            if self.check_event(ScalarEvent):
                node = self.compose_scalar_node(event.anchor)
            elif self.check_event(SequenceStartEvent):
                node = self.compose_sequence_node(event.anchor)
            else:
                node = self.compose_mapping_node(event.anchor)
            self.ascend_resolver()
            node.llmscale_path = tuple(self.path)  # type: ignore[attr-defined]
            if event.anchor is not None:
                self._sizes[id(node)] = self._nodes - before
            return node
        except yaml.YAMLError as error:
            raise self.converted(error) from None
        finally:
            self._depth -= 1
            if segment is not None:
                self.path.pop()

    def converted(self, error: yaml.YAMLError) -> StackYamlError:
        """A PyYAML/libyaml error as a StackYamlError at the current position, with the input left out."""
        if isinstance(error, yaml.MarkedYAMLError):
            return self.refuse(error.problem_mark or error.context_mark, _syntax(_problem(error.problem)))
        position = getattr(error, "position", None)
        text = getattr(self, "text", None)
        if isinstance(position, int) and isinstance(text, str):  # libyaml counts bytes of the UTF-8 text
            line = text.encode("utf-8", "replace")[:position].count(b"\n")
            return StackYamlError(line + 1, None, _syntax("a control character YAML does not allow"))
        return StackYamlError(None, None, _syntax("a control character YAML does not allow"))

    def _alias(self, event: Any) -> Node:
        node = self.anchors.get(event.anchor)
        if node is None:
            raise self.refuse(event.start_mark, _syntax("an alias no anchor defines; quote a value that starts with *"))
        size = self._sizes.get(id(node))
        if size is None:
            raise self.refuse(event.start_mark, _syntax("an alias inside the value it refers to"))
        self._aliases += 1
        if self._aliases > MAX_ALIASES:
            raise self.refuse(event.start_mark, f"more than {MAX_ALIASES} aliases")
        self._count(size, event.start_mark)
        return node

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        """A mapping whose keys are text and unique (merge keys `<<` aside)."""
        node = super().compose_mapping_node(anchor)
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.refuse(key_node.start_mark, _syntax("a key that is a list or mapping; keys are text"))
            if key_node.tag == _MERGE:
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                raise self.refuse(
                    key_node.start_mark,
                    f"is set twice (first on line {seen[key_node.value]}); keep one",
                    path=[*self.path, key_node.value],
                )
            seen[key_node.value] = line
        return node


class _StackConstructor(SafeConstructor):
    """The core schema only; keys are their text; every failure becomes a StackYamlError at its node."""

    yaml_multi_constructors: ClassVar[dict[str, Any]] = {}

    def construct_undefined(self, node: Node) -> Any:
        """A tag outside the core schema."""
        raise _at(node, _syntax("an unknown tag; quote a value that starts with !"))

    def construct_stack_map(self, node: Node) -> dict[str, Any]:
        """A mapping, built at once (bounded depth makes recursion safe), keys as their text."""
        if not isinstance(node, MappingNode):
            raise _at(node, _syntax("a !!map tag on something that is not a mapping"))
        self.flatten_mapping(node)  # resolves `<<` merge keys; explicit keys win
        return {key.value: self.construct_object(value, deep=True) for key, value in node.value}

    def construct_stack_seq(self, node: Node) -> list[Any]:
        """A list, built at once."""
        if not isinstance(node, SequenceNode):
            raise _at(node, _syntax("a !!seq tag on something that is not a list"))
        return [self.construct_object(item, deep=True) for item in node.value]

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """PyYAML's construction, with any failure reported at the innermost node, without its value."""
        try:
            return super().construct_object(node, deep=deep)
        except StackYamlError:
            raise
        except Exception:
            kind = node.tag.removeprefix(_CORE)
            if node.tag in _SCALAR_TAGS:
                raise _at(node, _syntax(f"cannot be read as {kind}; quote it if it is text")) from None
            raise _at(node, _syntax("a value that cannot be built; check its tag or `<<` merge")) from None


_StackConstructor.yaml_constructors = {
    **{tag: SafeConstructor.yaml_constructors[tag] for tag in _SCALAR_TAGS},
    _CORE + "map": _StackConstructor.construct_stack_map,
    _CORE + "seq": _StackConstructor.construct_stack_seq,
    None: _StackConstructor.construct_undefined,
}


def _syntax(reason: str) -> str:
    return f"not valid YAML ({reason})"


def _at(node: Node, message: str) -> StackYamlError:
    return StackYamlError(node.start_mark.line + 1, display_key(getattr(node, "llmscale_path", ())), message)


class StackLoader(_BoundedComposer, _EventParser, _StackConstructor, _StackResolver):
    """libyaml's event parser under the bounded composer, the core-schema constructor and resolver."""

    def __init__(self, stream: str) -> None:
        self.text = stream
        _EventParser.__init__(self, stream)
        _StackConstructor.__init__(self)
        _StackResolver.__init__(self)
        _BoundedComposer.__init__(self)


def load_stack_yaml(text: str) -> Any:
    """The one YAML document in `text` as plain data; raises StackYamlError (never quoting the input)."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise StackYamlError(None, None, _syntax("text that is not valid Unicode")) from None
    if size > MAX_BYTES:
        raise StackYamlError(None, None, TOO_LARGE)
    loader = StackLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as error:  # outside any node: the stream's start or end
        raise loader.converted(error) from None
    finally:
        loader.dispose()


def beyond_bounds(value: Any) -> str | None:
    """Why a value decoded some other way (JSON text from Pulumi) is beyond the loader's bounds, or None."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            return f"is nested more than {MAX_DEPTH} levels deep"
        if nodes > MAX_NODES:
            return f"holds more than {MAX_NODES} values"
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None
