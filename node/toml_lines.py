"""Where each key of a TOML file is written, so a message about a value can name its line.

tomllib gives values without positions, and searching the text for a key's name finds the
first line that mentions it — often a table header or another table's key of the same name.
tree-sitter's TOML grammar gives every header and key/value pair with its position; the names
of quoted keys are decoded by tomllib itself, so both parsers agree on what a key is called.
"""

from __future__ import annotations

import tomllib
from functools import cache

import tree_sitter_toml
from tree_sitter import Language, Node, Parser

KeyPath = tuple[str | int, ...]  # ("peers", "a.example", "trust"), ("rules", 0, "below")
_KEYS = ("bare_key", "quoted_key", "dotted_key")


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_toml.language()))


class KeyLines:
    """The line (1-based) of every table, array-of-tables entry and key of a TOML text."""

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        self._aot_last: dict[KeyPath, int] = {}  # array of tables -> index of its latest [[entry]]
        tree = _parser().parse(text.encode("utf-8"))
        if tree.root_node.has_error:  # tomllib accepted what the grammar did not: no positions
            return
        table: KeyPath = ()
        for node in tree.root_node.named_children:
            if node.type == "pair":
                self._pair(table, node)
            elif node.type in ("table", "table_array_element"):
                table = self._header(node)
                for child in node.named_children:
                    if child.type == "pair":
                        self._pair(table, child)

    def line(self, *path: str | int) -> int | None:
        """The line of `path`, else of the nearest table or key above it that is written (a
        missing key is reported where its table begins); None when nothing of it is."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def _mark(self, path: KeyPath, node: Node) -> None:
        self._lines.setdefault(path, node.start_point.row + 1)

    def _header(self, node: Node) -> KeyPath:
        names = _names(next(c for c in node.named_children if c.type in _KEYS))
        if node.type == "table":
            path = self._resolve(names)
        else:  # [[name]]: the next entry of that array
            array = self._resolve(names[:-1]) + (names[-1],)
            index = self._aot_last.get(array, -1) + 1
            self._aot_last[array] = index
            self._mark(array, node)
            path = array + (index,)
        for end in range(1, len(path) + 1):
            self._mark(path[:end], node)
        return path

    def _resolve(self, names: tuple[str, ...]) -> KeyPath:
        """A header's names as a path: a name that is an array of tables means its latest entry."""
        path: KeyPath = ()
        for name in names:
            path += (name,)
            if path in self._aot_last:
                path += (self._aot_last[path],)
        return path

    def _pair(self, table: KeyPath, node: Node) -> None:
        key, value = node.named_children[0], node.named_children[-1]
        path = table
        for name in _names(key):
            path += (name,)
            self._mark(path, node)
        self._value(path, value)

    def _value(self, path: KeyPath, node: Node) -> None:
        if node.type == "inline_table":
            for child in node.named_children:
                if child.type == "pair":
                    self._pair(path, child)
        elif node.type == "array":
            items = [c for c in node.named_children if c.type != "comment"]
            for index, item in enumerate(items):
                self._mark(path + (index,), item)
                self._value(path + (index,), item)


def _names(key: Node) -> tuple[str, ...]:
    if key.type == "dotted_key":
        return tuple(n for part in key.named_children for n in _names(part))
    text = (key.text or b"").decode("utf-8")
    if key.type == "bare_key":
        return (text,)
    return (str(tomllib.loads(f"k = {text}")["k"]),)  # a quoted key, decoded as TOML decodes it
