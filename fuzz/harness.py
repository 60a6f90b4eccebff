"""Runs one target of fuzz/targets.py under atheris (libFuzzer), the code under test
instrumented for coverage. Arguments after the target are libFuzzer's own
(-runs=N, -seed=S, -max_total_time=T, corpus directories)."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["federation", "node.inbound", "node.policy", "node.sanitize", "node.text", "fuzz"]):
    from fuzz.targets import TARGETS


def main(target: str) -> None:
    atheris.Setup([sys.argv[0], *sys.argv[1:]], TARGETS[target])
    atheris.Fuzz()
