"""How deep a TOML text may nest before the node parses it: a screen against TOML bombs.

tomllib takes time quadratic in a dotted key's depth (`a.a.a…= 1`: 20,000 parts cost seconds,
150,000 exhaust memory) and recurses on nested arrays and inline tables (`[[[[…]]]]` raises
RecursionError); node/toml_lines.py recurses on dotted keys too. A policy nests a few levels at
most, so a text is refused, with the line, before either parser reads it when its brackets nest
deeper than `MAX_DEPTH` or a line has more than `MAX_DOTS` dots outside strings and comments.
One linear pass of a regular expression that reads strings as TOML does; no recursion.
"""

from __future__ import annotations

import re

MAX_DEPTH = 32  # brackets and braces open at once, outside strings
MAX_DOTS = 32  # dots on one line outside strings (dotted keys, table headers, numbers)

# Strings (multi-line first) and comments are skipped whole; brackets, dots and newlines counted.
_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)'
    r"|'''(?:[^']|'(?!''))*(?:'''|\Z)"
    r'|"(?:[^"\\\n]|\\.)*"?'
    r"|'[^'\n]*'?"
    r"|#[^\n]*"
    r"|[\[\]{}.\n]",
    re.S,
)


def nesting_problem(text: str) -> tuple[int, str] | None:
    """(line, what is wrong) when `text` nests deeper than the limits; None when it does not."""
    line, depth, dots = 1, 0, 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token == "\n":
            line, dots = line + 1, 0
        elif token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line, f"nested more than {MAX_DEPTH} levels deep"
        elif token in "]}":
            depth = max(0, depth - 1)
        elif token == ".":
            dots += 1
            if dots > MAX_DOTS:
                return line, f"more than {MAX_DOTS} dots in one line (a key nested too deep)"
        else:
            line += token.count("\n")
    return None
