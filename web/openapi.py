"""The node's OpenAPI 3.1 description, merged from one YAML fragment per API module, and the
route that serves it (GET /api/openapi.json).

`web/api/openapi/base.yaml` is the head (info, security schemes, shared entities); every other
`*.yaml` there adds `paths:` and may add `components:`. Merging refuses a method described
twice, a component defined twice differently, a `$ref` that points nowhere and a path whose
`{parameter}` is not declared, so a bad fragment fails the node's start and the tests loudly.
Full validation against the OpenAPI 3.1 schema runs in the tests (openapi-spec-validator).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

FRAGMENTS = Path(__file__).parent / "api" / "openapi"
HEAD = "base.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
FRAGMENT_KEYS = {"paths", "components"}
TEMPLATE_PARAM = re.compile(r"\{([^}/]+)\}")

Document = dict[str, Any]


class DescriptionError(ValueError):
    """A fragment cannot be merged into a valid description."""


def _load(path: Path) -> Document:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DescriptionError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DescriptionError(f"{path.name}: must be a mapping")
    return data


def _merge_paths(into: Document, paths: Document, source: str, owner: dict[tuple[str, str], str]) -> None:
    for route, item in paths.items():
        if not isinstance(item, dict):
            raise DescriptionError(f"{source}: path {route} must be a mapping")
        target = into.setdefault(route, {})
        for key, value in item.items():
            if key in METHODS:
                if key in target:
                    raise DescriptionError(
                        f"{source}: {key.upper()} {route} is already described in {owner[(route, key)]}"
                    )
                owner[(route, key)] = source
            elif key in target and target[key] != value:
                raise DescriptionError(f"{source}: {route} has a different {key!r} in another fragment")
            target[key] = value


def _merge_components(into: Document, components: Document, source: str) -> None:
    for section, entries in components.items():
        if not isinstance(entries, dict):
            raise DescriptionError(f"{source}: components.{section} must be a mapping")
        target = into.setdefault(section, {})
        for name, value in entries.items():
            if name in target and target[name] != value:
                raise DescriptionError(f"{source}: components.{section}.{name} is defined differently elsewhere")
            target[name] = value


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: Document, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise DescriptionError(f"only local references are allowed: {ref}")
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise DescriptionError(f"reference points nowhere: {ref}")
        node = node[part]
    return node


def _path_params(doc: Document, item: Document, operation: Document) -> set[str]:
    names: set[str] = set()
    for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
        if "$ref" in param:
            param = _resolve(doc, param["$ref"])
        if param.get("in") == "path":
            names.add(param["name"])
    return names


def _check(doc: Document) -> None:
    for ref in _refs(doc):
        _resolve(doc, ref)
    for route, item in doc["paths"].items():
        wanted = set(TEMPLATE_PARAM.findall(route))
        for method in METHODS:
            if method in item:
                declared = _path_params(doc, item, item[method])
                if declared != wanted:
                    raise DescriptionError(
                        f"{method.upper()} {route}: path parameters {sorted(declared)} != template {sorted(wanted)}"
                    )


def merge(folder: Path = FRAGMENTS) -> Document:
    """The head with every fragment's paths and components merged in, checked."""
    head = _load(folder / HEAD)
    doc: Document = {**head, "paths": {}, "components": {}}
    owner: dict[tuple[str, str], str] = {}
    for path in [folder / HEAD, *sorted(p for p in folder.glob("*.yaml") if p.name != HEAD)]:
        fragment = head if path.name == HEAD else _load(path)
        if path.name != HEAD and set(fragment) - FRAGMENT_KEYS:
            extra = sorted(set(fragment) - FRAGMENT_KEYS)
            raise DescriptionError(f"{path.name}: a fragment holds only paths and components, not {extra}")
        _merge_paths(doc["paths"], fragment.get("paths") or {}, path.name, owner)
        _merge_components(doc["components"], fragment.get("components") or {}, path.name)
    _check(doc)
    return doc


@cache
def description_json() -> str:
    """The merged description, serialised once per process."""
    return json.dumps(merge(), separators=(",", ":"))


async def serve(request: web.Request) -> web.Response:
    return web.Response(text=description_json(), content_type="application/json")


def setup(app: web.Application) -> None:
    description_json()  # a broken fragment stops the node here, not on the first request
    app.router.add_get("/api/openapi.json", serve)
