"""Run the atheris fuzzers on demand.

    python fuzz/run.py --seconds 600 signature_header     # one target, ten minutes
    python fuzz/run.py --seconds 120 all                  # every target, two minutes each
    python fuzz/run.py --runs 2000 --seed 1 all           # the short seeded pass CI runs

Each target starts from its seed corpus (fuzz/corpus/TARGET, kept in the repository) and adds
what it finds to a working corpus under --work (default .fuzz/, not kept); a crash leaves its
input there as crash-*. The exit status is non-zero when any target failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("signature_header", "jsonld", "activitystreams", "html_sanitiser", "policy_parser")


def command(target: str, *, seconds: int | None, runs: int | None, seed: int, work: Path) -> list[str]:
    corpus = work / target
    corpus.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", f"fuzz.fuzz_{target}", f"-seed={seed}", "-timeout=30",
            "-rss_limit_mb=2048", "-max_len=65536", f"-artifact_prefix={corpus}/"]
    if seconds is not None:
        args.append(f"-max_total_time={seconds}")
    if runs is not None:
        args.append(f"-runs={runs}")
    return [*args, str(corpus), str(ROOT / "fuzz" / "corpus" / target)]


def run(target: str, *, seconds: int | None, runs: int | None, seed: int, work: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command(target, seconds=seconds, runs=runs, seed=seed, work=work),
                          cwd=ROOT, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=[*TARGETS, "all"])
    parser.add_argument("--seconds", type=int, help="time per target")
    parser.add_argument("--runs", type=int, help="inputs per target")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / ".fuzz", help="working corpus and crashes (default .fuzz/)")
    args = parser.parse_args(argv)
    if args.seconds is None and args.runs is None:
        parser.error("give --seconds or --runs")
    targets = TARGETS if args.target == "all" else (args.target,)
    failed = [t for t in targets if run(t, seconds=args.seconds, runs=args.runs, seed=args.seed, work=args.work) != 0]
    if failed:
        print(f"fuzz: failures in {', '.join(failed)}; crash-* inputs are under {args.work}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
