"""docs/architecture.md is the map a newcomer reads first: it must name every module of the
application, so a new module cannot land without a place on the map."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("storage", "federation", "node", "web", "atrium")


def _modules() -> list[str]:
    return sorted(
        str(p.relative_to(ROOT))
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts and p.name != "__init__.py"
    )


def test_the_architecture_map_names_every_module_of_the_application() -> None:
    # Given the architecture document and the application's modules
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    # Then each module is named in it, as `path`
    missing = [m for m in _modules() if f"`{m}`" not in text]
    assert missing == [], f"docs/architecture.md does not name: {', '.join(missing)}"


def test_the_architecture_map_names_no_module_that_is_gone() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `") and line.split("`")[1].endswith(".py")}
    assert named - set(_modules()) == set()
