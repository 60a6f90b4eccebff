"""Writers: results.json is written by __main__; here the markdown table and the PNG plots
(drawn with a few lines of pure Python + zlib: no plotting dependency)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def table_lines(doc: dict[str, Any]) -> list[str]:
    lines = ["| name | value | unit | ceiling | ratio | target | met | short of target by |",
             "|---|---:|---|---:|---:|---:|---|---|"]
    for r in doc["results"]:
        lines.append(
            f"| {r['name']} | {_fmt(r['value'])} | {r['unit']} | {_fmt(r['ceiling'])} | {_fmt(r['ratio'])} "
            f"| {_fmt(r['target'])} | {_fmt(r['met'])} | {r.get('short_of_target') or '—'} |"
        )
    return lines


def write_markdown(doc: dict[str, Any], path: Path) -> None:
    m = doc["machine"]
    out = [
        "# Atrium benchmark results",
        "",
        f"{'Quick run (CI sizes)' if doc.get('quick') else 'Full run'}, started {doc['started']}, {doc['duration_s']} s.",
        f"Machine: {m['cores']} cores, {m['cpu']}, Python {m['python']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
        "`ratio` is always higher-is-better: value/ceiling for rates, ceiling/value for latencies.",
        "",
        *table_lines(doc),
        "",
        "## Notes",
        "",
    ]
    for r in doc["results"]:
        if r.get("notes") or r.get("params"):
            params = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items())
            out.append(f"- `{r['name']}`: {r.get('notes', '')}" + (f" ({params})" if params else ""))
    if doc.get("checks"):
        out += ["", "## Sink checks", "", "| run | sent (inbound: accepted) | counted (inbound: processed) |", "|---|---:|---:|"]
        out += [f"| {c['name']} | {c['sent']} | {c['counted']} |" for c in doc["checks"]]
    if doc.get("errors"):
        out += ["", "## Errors", ""] + [f"- {e}" for e in doc["errors"]]
    path.write_text("\n".join(out) + "\n")


# ---------------------------------------------------------------- PNG

# A 5x7 bitmap font for digits, letters (upper-cased) and a few signs.
_FONT = {
    "0": "01110100011001110101110011000101110", "1": "00100011000010000100001000010001110",
    "2": "01110100010000100010001000100011111", "3": "11111000100010000010000011000101110",
    "4": "00010001100101010010111110001000010", "5": "11111100001111000001000011000101110",
    "6": "00110010001000011110100011000101110", "7": "11111000010001000100010000100001000",
    "8": "01110100011000101110100011000101110", "9": "01110100011000101111000010001001100",
    "A": "01110100011000111111100011000110001", "B": "11110100011000111110100011000111110",
    "C": "01110100011000010000100001000101110", "D": "11100100101000110001100011001011100",
    "E": "11111100001000011110100001000011111", "F": "11111100001000011110100001000010000",
    "G": "01110100011000010111100011000101111", "H": "10001100011000111111100011000110001",
    "I": "01110001000010000100001000010001110", "J": "00111000100001000010000101001001100",
    "K": "10001100101010011000101001001010001", "L": "10000100001000010000100001000011111",
    "M": "10001110111010110101100011000110001", "N": "10001100011100110101100111000110001",
    "O": "01110100011000110001100011000101110", "P": "11110100011000111110100001000010000",
    "Q": "01110100011000110001101011001001101", "R": "11110100011000111110101001001010001",
    "S": "01111100001000001110000010000111110", "T": "11111001000010000100001000010000100",
    "U": "10001100011000110001100011000101110", "V": "10001100011000110001100010101000100",
    "W": "10001100011000110101101011010101010", "X": "10001100010101000100010101000110001",
    "Y": "10001100010101000100001000010000100", "Z": "11111000010001000100010001000011111",
    "_": "00000000000000000000000000000011111", ".": "00000000000000000000000000110001100",
    "/": "00001000010001000100010001000010000", "%": "11000110010001000100010001001100011",
    "-": "00000000000000011111000000000000000", " ": "0" * 35, ":": "00000011000110000000011000110000000",
}


class Canvas:
    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def rect(self, x0: int, y0: int, x1: int, y1: int, rgb: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.w, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.h, max(y0, y1))
        row = bytes(rgb) * (x1 - x0)
        for y in range(y0, y1):
            i = (y * self.w + x0) * 3
            self.px[i:i + len(row)] = row

    def text(self, x: int, y: int, s: str, rgb: tuple[int, int, int] = (0, 0, 0), scale: int = 1) -> None:
        for ch in s.upper():
            glyph = _FONT.get(ch, _FONT[" "])
            for k, bit in enumerate(glyph):
                if bit == "1":
                    gx, gy = k % 5, k // 5
                    self.rect(x + gx * scale, y + gy * scale, x + (gx + 1) * scale, y + (gy + 1) * scale, rgb)
            x += 6 * scale

    def save(self, path: Path) -> None:
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
        png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
        path.write_bytes(png)


def bar_chart(path: Path, title: str, bars: list[tuple[str, float, float | None]]) -> None:
    """Horizontal bars of `ratio` (0..1+ with a line at 1.0 = the ceiling) and the target ratio mark."""
    row_h, left, width = 22, 330, 420
    c = Canvas(left + width + 80, 40 + row_h * max(1, len(bars)) + 20)
    c.text(10, 10, title, scale=2)
    top = 40
    scale = max([1.0] + [b[1] for b in bars]) * 1.05
    x_one = left + int(width / scale)
    c.rect(x_one, top - 4, x_one + 1, top + row_h * len(bars), (120, 120, 120))
    for i, (label, ratio, target) in enumerate(bars):
        y = top + i * row_h
        c.text(10, y + 5, label[:52])
        colour = (60, 130, 200) if target is None else ((60, 170, 90) if ratio >= target else (210, 80, 60))
        c.rect(left, y + 2, left + int(width * ratio / scale), y + row_h - 4, colour)
        c.text(left + int(width * ratio / scale) + 4, y + 5, f"{ratio:.2f}")
    c.save(path)


def line_chart(path: Path, title: str, points: list[tuple[float, float]], xlabel: str, ylabel: str) -> None:
    w, h, left, bottom = 640, 360, 70, 40
    c = Canvas(w, h)
    c.text(10, 10, title, scale=2)
    if not points:
        c.save(path)
        return
    import math

    xs = [math.log10(max(p[0], 1)) for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y1 = max(ys) * 1.15 or 1
    ph, pw = h - bottom - 40, w - left - 30
    c.rect(left, 40, left + 1, 40 + ph, (0, 0, 0))
    c.rect(left, 40 + ph, left + pw, 40 + ph + 1, (0, 0, 0))
    for (px, py), lx in zip(points, xs, strict=True):
        cx = left + int((lx - x0) / (x1 - x0) * (pw - 20)) + 10
        cy = 40 + ph - int(py / y1 * ph)
        c.rect(cx - 3, cy - 3, cx + 4, cy + 4, (60, 130, 200))
        c.text(cx - 10, cy - 14, f"{py:.2f}")
        c.text(cx - 10, 40 + ph + 8, f"{int(px)}")
    c.text(left, h - 14, xlabel)
    c.text(10, 28, ylabel)
    c.save(path)


def write_plots(doc: dict[str, Any], out: Path) -> None:
    results = [r for r in doc["results"] if r["ratio"] is not None]
    bars = []
    for r in results:
        target_ratio = None
        if r["target"] is not None and r["ceiling"]:
            # Where the target sits on the ratio scale.
            target_ratio = r["target"] / r["ceiling"] if r["unit"].endswith("/s") else r["ceiling"] / r["target"]
        bars.append((r["name"], r["ratio"], target_ratio))
    bar_chart(out / "ratios.png", "ratio to ceiling (1.0 = ceiling)", bars)
    for engine in ("sqlite", "postgresql"):
        pts = sorted(
            (r["params"]["posts"], r["value"]) for r in doc["results"]
            if r["name"].startswith("growth_timeline_home_p99_ms_at_") and r["name"].endswith(engine) and r["value"] is not None
        )
        if pts:
            line_chart(out / f"growth_timeline_{engine}.png", f"home p99 ms vs posts ({engine})", pts, "posts (log)", "p99 ms")
