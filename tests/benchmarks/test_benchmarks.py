"""The benchmarks keep working: `python -m benchmarks --quick` runs every benchmark at small
sizes, every named entry is there with a number, and the sink counted exactly the deliveries
sent. Nothing about speed is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import Result

ROOT = Path(__file__).resolve().parents[2]
ENGINES = [e.strip() for e in os.environ.get("ATRIUM_TEST_ENGINES", "sqlite,postgresql").split(",") if e.strip()]
POSTGRES_URL = os.environ.get("ATRIUM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

PER_ENGINE = [
    "outbound_deliveries_per_s",
    "fanout_10k_wall_s",
    "fanout_10k_no_shared_inbox_wall_s",
    "inbound_accepted_per_s",
    "inbound_processed_per_s",
    "inbound_p99_ms",
    "timeline_home_p50_ms",
    "timeline_home_p99_ms",
    "prune_rows_per_s",
    "search_posts_p50_ms",
    "search_posts_p99_ms",
]
FIELDS = {"name", "value", "unit", "ceiling", "ratio", "target", "met"}


def test_quick_run_has_every_entry_and_the_sink_counted_every_delivery(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--profile", "--out", str(out), "--engines", ",".join(ENGINES)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "ATRIUM_BENCH_POSTGRES_URL": POSTGRES_URL},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    doc = json.loads((out / "results.json").read_text())
    assert {"cores", "cpu", "python", "versions"} <= set(doc["machine"])
    by_name = {r["name"]: r for r in doc["results"]}
    expected = [f"{name}_{engine}" for engine in ENGINES for name in PER_ENGINE] + ["vs_fedify_inbound_ratio", "media_upload_p99_ms"]
    # Memory after the inbound run, and its growth over more runs (the names on SQLite)
    expected += [f"{name}{'' if engine == 'sqlite' else '_' + engine}" for engine in ENGINES
                 for name in ("rss_mb_after_inbound", "rss_growth_pct")]
    missing = [n for n in expected if n not in by_name]
    assert not missing, f"missing entries: {missing}"
    assert any(n.startswith("growth_") for n in by_name)
    for r in doc["results"]:
        assert FIELDS <= set(r), r
        # A ratio needs a ceiling above zero (memory growth has none: its ideal is 0 %)
        for key in ("value", "ceiling", "ratio") if r["ceiling"] else ("value", "ceiling"):
            assert isinstance(r[key], (int, float)) and r[key] == r[key], (r["name"], key, r[key])
        assert (r["target"] is None) == (r["met"] is None), r
        assert (r["short_of_target"] is not None) == (r["met"] is False), r
    sink_runs = [c for c in doc["checks"] if c["name"].startswith(("outbound_", "fanout_"))]
    assert len(sink_runs) == 3 * len(ENGINES)
    for c in sink_runs:
        assert c["sent"] > 0 and c["counted"] == c["sent"], c
    # No loss: every activity accepted at the inbox (sent) was processed (counted), in every round
    inbound = [c for c in doc["checks"] if c["name"].startswith("inbound")]
    assert inbound and all(c["sent"] == c["counted"] > 0 for c in inbound), inbound
    growth = by_name["rss_growth_pct"]["params"]["rss_mb_per_round"]
    assert len(growth) == 2 and all(m > 0 for m in growth)
    assert (out / "results.md").read_text().count("|") > 20
    assert (out / "ratios.png").read_bytes().startswith(b"\x89PNG")
    # And --profile left a profile of the process under test for each family on each engine
    for engine in ENGINES:
        for family in ("outbound", "inbound", "timelines"):
            assert (out / f"profile-{family}-{engine}.txt").stat().st_size > 500


def test_a_missed_target_says_by_how_much() -> None:
    rate = Result("x_per_s", 1500.0, "activities/s", 3000.0, True, target=2000.0, met=False)
    latency = Result("x_ms", 7.5, "ms", 1.0, False, target=5.0, met=False)
    met = Result("y_per_s", 2500.0, "activities/s", 3000.0, True, target=2000.0, met=True)
    assert rate.to_json()["short_of_target"] == "500 activities/s short (75.0% of the target)"
    assert latency.to_json()["short_of_target"] == "2.5 ms over (1.50× the target)"
    assert met.to_json()["short_of_target"] is None


def quick_entry(tmp_path: Path, family: str) -> dict[str, Any]:
    """The one entry of `family` run alone at its quick size on SQLite (the run must succeed)."""
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", family, "--out", str(out), "--engines", "sqlite"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    [entry] = json.loads((out / "results.json").read_text())["results"]
    return entry  # type: ignore[no-any-return]


def test_quick_media_run_has_the_upload_entry_beside_its_ceiling(tmp_path: Path) -> None:
    # When the media family alone runs at its quick size
    entry = quick_entry(tmp_path, "media")
    # Then it succeeds with media_upload_p99_ms: a number, beside Pillow's decode+resize ceiling
    assert entry["name"] == "media_upload_p99_ms" and entry["unit"] == "ms"
    assert entry["value"] > 0 and entry["ceiling"] > 0 and entry["ratio"] > 0
    assert entry["params"]["bytes"] >= 1_500_000 and entry["params"]["uploads"] == 5
    assert (entry["target"], entry["met"]) == (None, None)


def test_quick_prune_run_has_its_entry_beside_its_ceiling(tmp_path: Path) -> None:
    # When the prune family alone runs at its quick size on SQLite
    entry = quick_entry(tmp_path, "prune")
    # Then it has prune_rows_per_s: the worker's rate beside a bulk DELETE's, of the same rows
    assert entry["name"] == "prune_rows_per_s_sqlite" and entry["unit"] == "rows/s"
    assert entry["value"] > 0 and entry["ceiling"] > 0 and entry["ratio"] > 0
    assert entry["params"]["rows"] == 20_000 and entry["params"]["kept"] == 2_000
