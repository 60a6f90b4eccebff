"""`python -m benchmarks [--quick] [--out DIR] [--only FAMILY,…] [--engines sqlite,postgresql] [--profile]`."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from atrium import event_loop
from benchmarks.common import (
    CORE_UNDER_TEST,
    ROOT,
    Databases,
    Result,
    free_ports,
    machine,
    pin_self,
    postgres_available,
)

FAMILIES = ("outbound", "inbound", "timelines", "prune", "search", "fedify", "idle", "media")


async def _main(args: argparse.Namespace) -> int:
    from benchmarks import outbound, report
    from benchmarks.procs import Child

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    pin_self(CORE_UNDER_TEST)
    engines = [e for e in args.engines.split(",") if e]
    errors: list[str] = []
    if "postgresql" in engines:
        why = await postgres_available()
        if why:
            errors.append(why)
            engines.remove("postgresql")
    only = set(args.only.split(",")) if args.only else set(FAMILIES)
    results: list[Result] = []
    checks: list[dict] = []
    dbs = Databases()
    n_domains = 10 if args.quick else 100
    *ports, control = free_ports(n_domains + 1)
    sink = Child(["-m", "benchmarks.sink", "--ports", ",".join(map(str, ports)), "--control", str(control)],
                 log=out / "sink.log")
    started = time.time()
    info = outbound.SinkInfo(ports, control)
    try:
        for engine in engines:
            for family in ("outbound", "inbound", "timelines", "prune", "search"):
                if family not in only:
                    continue
                t0 = time.perf_counter()
                profiler = _profiler(args.profile)
                try:
                    if family == "outbound":
                        results += await outbound.run(dbs, engine, info, args.quick, checks)
                    elif family == "inbound":
                        from benchmarks import inbound

                        results += await inbound.run(dbs, engine, args.quick, checks, out)
                    elif family == "timelines":
                        from benchmarks import timelines

                        results += await timelines.run(dbs, engine, args.quick)
                    elif family == "prune":
                        from benchmarks import prune

                        results += await prune.run(dbs, engine, args.quick)
                    elif family == "search":
                        from benchmarks import search

                        results += await search.run(dbs, engine, args.quick)
                except Exception as exc:  # noqa: BLE001 - report it, run the rest
                    traceback.print_exc()
                    errors.append(f"{family} on {engine}: {type(exc).__name__}: {exc}")
                _write_profile(profiler, out / f"profile-{family}-{engine}.txt")
                print(f"{family} on {engine}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        if "fedify" in only:
            from benchmarks import fedify

            t0 = time.perf_counter()
            try:
                results += await fedify.run(dbs, args.quick, out, results)
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc()
                errors.append(f"fedify: {type(exc).__name__}: {exc}")
            print(f"fedify: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        if "idle" in only:
            from benchmarks import idle

            t0 = time.perf_counter()
            try:
                results += await idle.run(dbs, engines, args.quick)
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc()
                errors.append(f"idle: {type(exc).__name__}: {exc}")
            print(f"idle: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        if "media" in only:
            from benchmarks import media

            t0 = time.perf_counter()
            try:
                results += await media.run(dbs, args.quick)
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc()
                errors.append(f"media: {type(exc).__name__}: {exc}")
            print(f"media: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    finally:
        await info.close()
        sink.stop()
        await dbs.cleanup()
    doc = {
        "machine": machine(),
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1),
        "results": [r.to_json() for r in results],
        "checks": checks,
        "errors": errors,
    }
    (out / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    report.write_markdown(doc, out / "results.md")
    report.write_plots(doc, out)
    for line in report.table_lines(doc):
        print(line)
    bad_checks = [c for c in checks if c["sent"] != c["counted"]]
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    for c in bad_checks:
        print(f"error: {c['name']}: sent {c['sent']}, the sink counted {c['counted']}", file=sys.stderr)
    return 1 if errors or bad_checks else 0


def _profiler(wanted: bool) -> Any:
    """A started pyinstrument profiler of the process under test, when asked for. (SQLAlchemy
    runs statements in greenlets: their frames show as roots of their own in the profile.)"""
    if not wanted:
        return None
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    return profiler


def _write_profile(profiler: Any, path: Path) -> None:
    if profiler is not None:
        profiler.stop()
        path.write_text(profiler.output_text(unicode=False, color=False, show_all=False))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI (seconds, not minutes)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="where results go")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(FAMILIES)}")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--profile", action="store_true",
                        help="profile each family in the process under test (pyinstrument): DIR/profile-<family>-<engine>.txt")
    # The node under test runs on the loop `atrium serve` runs on (atrium/event_loop.py).
    return event_loop.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
