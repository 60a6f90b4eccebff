"""Atrium's benchmarks: `python -m benchmarks [--quick] [--out DIR]` (see benchmarks/README.md).

Every benchmark measures its own ceiling in the same run and reports value, ceiling and
ratio (higher is better) in `DIR/results.json`, `DIR/results.md` and PNG plots.
"""
