"""docs/architecture.md is the map a newcomer reads first: it must name every module of the
application, so a new module cannot land without a place on the map; and it is the design
document the tests cite, by sections that exist."""

from __future__ import annotations

import re
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


# A citation as tests write one: a file under docs/, then its sections quoted in parentheses.
CITATION = re.compile(r'(docs/[\w-]+\.md) \(((?:"[^"]+"(?:, )?)+)\)')
# Design documents that are not part of the project: a test citing one cites nothing a reader has.
ELSEWHERE = ("DESIGN" + ".md", "../" + "shared/")


def _test_sources() -> list[Path]:
    return sorted((ROOT / "tests").rglob("*.py"))


def test_tests_cite_the_projects_documents_by_sections_that_exist() -> None:
    # Given every test source and the sections of the documents it cites
    cited, wrong = 0, []
    for path in _test_sources():
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        wrong += [f"{where} cites {name}" for name in ELSEWHERE if name in source]
        for match in CITATION.finditer(source):
            doc = ROOT / match.group(1)
            if not doc.is_file():
                wrong.append(f"{where} cites {match.group(1)}, which does not exist")
                continue
            headings = {line.lstrip("#").strip() for line in doc.read_text(encoding="utf-8").splitlines()
                        if line.startswith("#")}
            for section in re.findall(r'"([^"]+)"', match.group(2)):
                cited += 1
                if section not in headings:
                    wrong.append(f'{where} cites {match.group(1)} ("{section}"), which has no such section')
    # Then each citation names a document of the project and one of its sections
    assert wrong == []
    assert cited > 0  # the matrices cite theirs: a pattern that finds nothing would check nothing
