"""Line-aware YAML reading for the hand-written config files (registry, sources).

People edit these files by hand, so every mistake is reported as `FILE:LINE: reason` and all of them
at once. To know lines we never let PyYAML build Python objects: we compose the node tree (every node
keeps its start mark) and read it through `Reader`, which checks types as it goes and collects
`Problem`s instead of raising.

Hostile or broken input is refused early with a plain message: files over a size cap, bytes that are
not UTF-8, YAML syntax errors, and aliases (`*name`; the billion-laughs expansion lives there, and a
hand-written config never needs them).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from decimal import Decimal

import yaml

# Tags the plain YAML scalars resolve to; anything else (`!!python/...`, `!custom`) is refused.
_STD = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}
# Stands in for a refused alias so composing can go on and report later problems too.
_REFUSED_TAG = "tag:cluewatch,2024:refused"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file; `str()` is the `FILE:LINE: reason` users see."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class ConfigError(ValueError):
    """A config file has problems; nothing from it was loaded."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def read_bytes(path, *, max_bytes: int) -> tuple[bytes | None, list[Problem]]:
    """The file's bytes, or a problem if it is missing, unreadable or larger than `max_bytes`."""
    name = str(path)
    try:
        with open(path, "rb") as f:
            # Read one byte past the cap rather than trusting stat(): works for pipes too.
            data = f.read(max_bytes + 1)
    except OSError as e:
        return None, [Problem(name, 1, f"cannot read file: {e.strerror or e}")]
    if len(data) > max_bytes:
        return None, [Problem(name, 1, f"file is larger than {max_bytes // (1024 * 1024)} MB; refusing to parse it")]
    return data, []


def compose(data: bytes | str, name: str) -> tuple[yaml.Node | None, list[Problem]]:
    """Decode (UTF-8) and compose one YAML document into a node tree, or report why not.

    Returns (None, []) for an empty document; callers decide whether that is an error.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            return None, [Problem(name, line, f"file is not valid UTF-8 (byte 0x{data[e.start]:02x}); save it as UTF-8")]
    else:
        text = data
    text = text.removeprefix("\ufeff")  # a UTF-8 BOM some editors add is harmless
    node = _compose_fast(text)
    if node is not _SLOW:
        return node, []
    return _compose_checked(text, name)


_SLOW = object()
# Where an alias could start: after a line start, blank, flow indicator or `:`. A false hit (a `*`
# inside some text) only costs the slow path; a real alias cannot slip past.
_ALIAS_CANDIDATE = re.compile(r"(?:^|[\s\[{,:])\*", re.M)


def _compose_fast(text: str):
    """The node tree via libyaml (3-4x faster on big files), or _SLOW when the careful path must decide.

    libyaml resolves aliases silently and words errors its own way, so any text that might hold
    an alias, and any text it rejects, goes through `_compose_checked` instead.
    """
    if not yaml.__with_libyaml__ or _ALIAS_CANDIDATE.search(text):
        return _SLOW
    try:
        return yaml.compose(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, RecursionError):
        return _SLOW


def _compose_checked(text: str, name: str) -> tuple[yaml.Node | None, list[Problem]]:
    """Pure-Python composing: exact messages for syntax errors, and aliases refused with their line."""
    loader = None
    try:
        loader = _Loader(text, name)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        reason = e.problem or "YAML syntax error"
        if e.context and e.context.startswith("expected a single document"):
            reason = "a second document starts here (`---`); a config file holds one"
        elif e.context:  # e.g. "while parsing a flow sequence" started on an earlier line
            at = e.context_mark.line + 1 if e.context_mark else None
            reason = f"{e.context}{f' (line {at})' if at and mark and at != mark.line + 1 else ''}: {reason}"
        return None, loader.refused + [Problem(name, mark.line + 1 if mark else 1, f"YAML syntax error: {reason}")]
    except yaml.reader.ReaderError as e:  # a control character YAML does not allow
        line = text.count("\n", 0, e.position) + 1
        return None, [Problem(name, line, f"character U+{e.character:04X} is not allowed in YAML")]
    except RecursionError:
        return None, [Problem(name, 1, "YAML is nested too deeply")]
    finally:
        if loader is not None:
            loader.dispose()
    return node, loader.refused


class _Loader(yaml.SafeLoader):
    """SafeLoader's composer, except that an alias becomes a problem plus a placeholder node."""

    def __init__(self, text: str, name: str):
        super().__init__(text)
        self.name = name
        self.refused: list[Problem] = []

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            self.refused.append(Problem(
                self.name, event.start_mark.line + 1,
                f"YAML aliases (*{event.anchor}) are not supported; write the value out in full"))
            return yaml.ScalarNode(_REFUSED_TAG, "", event.start_mark, event.end_mark)
        return super().compose_node(parent, index)


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def describe(node: yaml.Node) -> str:
    """How a wrong value reads in a message: `a list`, `integer 1664`, `null`."""
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    kind = node.tag.removeprefix(_STD)
    if kind == "null":
        return "null"
    kind = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "timestamp": "date"}.get(kind, kind)
    return f"{kind} {node.value!r}" if kind == "string" else f"{kind} {node.value}"


class Reader:
    """Typed, line-aware access to a node tree; each check reports into `problems`.

    Every method returns the value, or None after reporting why the node is not acceptable (so a
    caller only builds objects when `problems` stays empty). `what` names the value in messages,
    e.g. `marks[2].names[0]`.
    """

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def report(self, node_or_line, reason: str) -> None:
        line = node_or_line if isinstance(node_or_line, int) else line_of(node_or_line)
        self.problems.append(Problem(self.file, line, reason))

    def is_null(self, node: yaml.Node | None) -> bool:
        """True for a missing key or an explicit `~`/empty value: optional fields treat both as absent."""
        return node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _STD + "null")

    def _usable(self, node: yaml.Node, what: str) -> bool:
        """False, reported, for a node tagged `!!python/...`, `!custom`, `!!set`...; False, silently,
        for a refused alias (reported when composing)."""
        if node.tag == _REFUSED_TAG:
            return False
        if node.tag not in _PLAIN_TAGS:
            self.report(node, f"{what}: YAML tag {node.tag} is not supported")
            return False
        return True

    def _scalar(self, node: yaml.Node, what: str, expected: str):
        """(ok, value) for a plain scalar; reports lists, mappings and foreign tags."""
        if not self._usable(node, what):
            return False, None
        if not isinstance(node, yaml.ScalarNode):
            self.report(node, f"{what} must be {expected} (got {describe(node)})")
            return False, None
        try:
            return True, self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError) as e:
            self.report(node, f"{what}: cannot read value {node.value!r}: {e}")
            return False, None

    def mapping(self, node: yaml.Node, what: str, *, allowed=None, required=()) -> dict[str, yaml.Node] | None:
        """{key: value node}; reports non-string, duplicate, unknown (if `allowed`) and missing keys."""
        if not self._usable(node, what):
            return None
        if not isinstance(node, yaml.MappingNode):
            self.report(node, f"{what} must be a mapping (got {describe(node)})")
            return None
        out: dict[str, yaml.Node] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            ok, key = self._scalar(key_node, f"a key in {what}", "a string")
            if not ok:
                continue
            if not isinstance(key, str):
                self.report(key_node, f"keys in {what} must be strings (got {describe(key_node)})")
                continue
            if key in key_lines:
                # PyYAML would silently keep the last one; in a hand-edited file it is a mistake.
                self.report(key_node, f"duplicate key {key!r} in {what} (first at line {key_lines[key]})")
                continue
            key_lines[key] = line_of(key_node)
            if allowed is not None and key not in allowed:
                self.report(key_node, f"unknown key {key!r} in {what}; allowed: {', '.join(allowed)}")
            else:
                out[key] = value_node
        for key in required:
            if key not in out:
                self.report(node, f"{what} is missing required key {key!r}")
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node] | None:
        if not self._usable(node, what):
            return None
        if not isinstance(node, yaml.SequenceNode):
            self.report(node, f"{what} must be a list (got {describe(node)})")
            return None
        return list(node.value)

    def string(self, node: yaml.Node, what: str, *, pattern: str | None = None,
               max_len: int | None = None, accept_int: bool = False) -> str | None:
        """A non-blank string; optionally matching `pattern` (a regex, whole string) and capped in length.

        `accept_int` takes an unquoted integer as the text written (`reg_no: 0123` -> "0123"), for
        fields that are digits by nature and that people will not think to quote.
        """
        if accept_int and isinstance(node, yaml.ScalarNode) and node.tag == _STD + "int":
            return node.value
        ok, value = self._scalar(node, what, "a string")
        if not ok:
            return None
        if not isinstance(value, str):
            # YAML 1.1 turns unquoted 1664, NO, 2024-01-01 into non-strings; say how to fix it.
            self.report(node, f"{what} must be a string (got {describe(node)}; quote it to keep it text)")
            return None
        if not value.strip():
            self.report(node, f"{what} must not be empty")
            return None
        if max_len is not None and len(value) > max_len:
            self.report(node, f"{what} is longer than {max_len} characters")
            return None
        if pattern is not None and not re.fullmatch(pattern, value):
            self.report(node, f"{what} {value!r} does not match {pattern}")
            return None
        return value

    def integer(self, node: yaml.Node, what: str, *, lo: int | None = None, hi: int | None = None) -> int | None:
        ok, value = self._scalar(node, what, "an integer")
        if not ok:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.report(node, f"{what} must be an integer (got {describe(node)})")
            return None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.report(node, f"{what} must be between {lo} and {hi} (got {value})")
            return None
        return value

    def number(self, node: yaml.Node, what: str, *, minimum=None, exclusive: bool = False) -> Decimal | None:
        """An int or float as an exact Decimal (prices must not pick up binary-float noise)."""
        ok, value = self._scalar(node, what, "a number")
        if not ok:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not math.isfinite(value)):
            self.report(node, f"{what} must be a finite number (got {describe(node)})")
            return None
        # repr of a float is the shortest text that round-trips: 48.0 -> Decimal("48.0"), not 48.000000001
        dec = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
        if minimum is not None and (dec <= minimum if exclusive else dec < minimum):
            self.report(node, f"{what} must be {'greater than' if exclusive else 'at least'} {minimum} (got {value})")
            return None
        return dec

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        ok, value = self._scalar(node, what, "true or false")
        if not ok:
            return None
        if not isinstance(value, bool):
            self.report(node, f"{what} must be true or false (got {describe(node)})")
            return None
        return value

    def string_list(self, node: yaml.Node, what: str, *, non_empty: bool = False, unique: bool = False,
                    **string_kw) -> tuple[str, ...] | None:
        """A list of strings; `unique` reports repeats (case and surrounding space ignored)."""
        items = self.sequence(node, what)
        if items is None:
            return None
        if non_empty and not items:
            self.report(node, f"{what} must not be empty")
            return None
        out, seen, ok = [], {}, True
        for i, item in enumerate(items):
            value = self.string(item, f"{what}[{i}]", **string_kw)
            if value is None:
                ok = False
                continue
            folded = value.strip().casefold()
            if unique and folded in seen:
                self.report(item, f"{what}[{i}] {value!r} repeats {what}[{seen[folded]}]")
                ok = False
            seen.setdefault(folded, i)
            out.append(value)
        return tuple(out) if ok else None


def abspath_next_to(config_file: str, path: str) -> str:
    """`path` as written in a config file: relative to that file's directory, or absolute."""
    base = os.path.dirname(os.path.abspath(config_file))
    return os.path.normpath(os.path.join(base, path))
