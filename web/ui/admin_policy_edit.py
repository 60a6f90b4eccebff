"""Editing the trust policy in the browser (admins only): the policy text in a form, "Check"
(its problems with their lines, worded as `atrium policy check` words them, else the
difference from the policy in force), then "Save", which is `atrium policy apply` and also
writes policy.toml (node/policy_edit.py, the one way for both). The form carries the digest of
the policy it started from, so a change made meanwhile elsewhere refuses the save and shows the
new difference; the page warns when this machine's policy.toml is not the policy in force."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from aiohttp import web

from node import policy_edit
from node.policy import PolicyProblem
from node.policy_edit import OnDisk
from node.shared_settings import ChangedMeanwhile, Shared, digest
from storage.errors import Invalid
from web.ui.core import Page, page

ADMINS = ("admin",)
FORM_TYPE = "application/x-www-form-urlencoded"
DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Problem:
    line: int | None
    words: str  # as `atrium policy check` prints it: `policy.toml:4: …`
    source: str  # the line it is about, as written


def _problems(text: str, problems: list[PolicyProblem]) -> list[Problem]:
    lines = text.splitlines()
    words = policy_edit.problem_lines(problems)
    return [
        Problem(p.line, w, lines[p.line - 1] if p.line and p.line <= len(lines) else "")
        for p, w in zip(problems, words, strict=True)
    ]


async def _on_disk(p: Page) -> OnDisk | None:
    return await asyncio.to_thread(policy_edit.read_file, p.ctx.policy_file) if p.ctx.policy_file else None


async def _render(
    p: Page, status: int, *, text: str, shared: Shared | None, based_on: str, checked: str = "",
    problems: list[Problem] | None = None, diff: list[policy_edit.DiffLine] | None = None,
    notice: str = "", conflict: str = "",
) -> web.Response:
    now = shared.value if shared is not None else ""
    disk = await _on_disk(p)
    differs = disk is not None and disk.text != now
    return p.render(
        "admin/policy_edit.html", status, title="Edit the trust policy", text=text, shared=shared,
        based_on=based_on, checked=checked, problems=problems or [], diff=diff, notice=notice, conflict=conflict,
        disk=disk, disk_differs=differs,
        disk_diff=policy_edit.diff(now, disk.text) if differs and disk is not None and disk.text is not None else [],
        disk_problems=_problems(disk.text or "", list(disk.problems)) if disk is not None else [],
        problem_lines=" ".join(str(x.line) for x in problems or [] if x.line),
        max_kb=policy_edit.MAX_BYTES // 1024,
    )


@page(roles=ADMINS)
async def edit_page(p: Page) -> web.StreamResponse:
    shared = await policy_edit.in_force(p.ctx.db)
    now = shared.value if shared is not None else ""
    text = now
    if p.request.query.get("from") == "file":
        disk = await _on_disk(p)
        if disk is not None and disk.text is not None:
            text = disk.text
    return await _render(p, 200, text=text, shared=shared, based_on=digest(now))


async def _posted_text(p: Page) -> str:
    """The form's policy text, decoded strictly: a byte that is not UTF-8 refuses the form
    (aiohttp's own reading would put U+FFFD in its place and carry on)."""
    if p.request.content_type != FORM_TYPE:
        raise Invalid(f"send the policy as the editor's form does ({FORM_TYPE}); nothing was changed", status=415)
    try:
        fields = parse_qs((await p.request.read()).decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                          errors="strict", max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid("the policy text is not UTF-8 text; nothing was changed", status=400) from exc
    texts = fields.get("text", [])
    if len(texts) != 1:
        raise Invalid("the form carries no policy text; nothing was changed", status=400)
    return policy_edit.from_browser(texts[0])


@page(roles=ADMINS)
async def edit_post(p: Page) -> web.StreamResponse:
    text = await _posted_text(p)
    too_large = policy_edit.size_problem(text)
    if too_large is not None:
        raise policy_edit.PolicyTooLarge(f"{too_large}; nothing was changed. Go back and shorten it.")
    shared = await policy_edit.in_force(p.ctx.db)
    now = shared.value if shared is not None else ""
    based_on = p.field("based_on") if DIGEST.fullmatch(p.field("based_on")) else ""
    policy, problems = policy_edit.check(text)
    if policy is None:
        return await _render(p, 422, text=text, shared=shared, based_on=based_on or digest(now),
                             problems=_problems(text, problems))
    if p.field("action") == "save" and p.field("checked") == digest(text):
        try:
            applied = await policy_edit.apply(p.ctx.db, text, source=f"the web UI, by @{p.user.username}",
                                              based_on=based_on, file=p.ctx.policy_file)
        except ChangedMeanwhile as exc:
            shared = exc.now
            now = shared.value if shared is not None else ""
            return await _render(
                p, 409, text=text, shared=shared, based_on=digest(now), checked=digest(text),
                diff=policy_edit.diff(now, text),
                conflict=f"Not saved: {exc.reason}. Someone else applied a change (here, with `atrium policy apply`, "
                "or by editing policy.toml). Below is the difference between the policy in force now and your "
                "text; check it and save again if it is still what you want.",
            )
        return p.redirect(f"/admin/policy?saved={applied.version}" + ("" if applied.changed else "&unchanged=1"))
    notice = ""
    if p.field("action") == "save":
        notice = "The text changed after it was checked: check the difference below, then save."
    if based_on != digest(now):
        notice = (f"The policy in force changed since you opened the editor (it is version "
                  f"{shared.version if shared else 0} now): the difference below is against it.")
    return await _render(p, 200, text=text, shared=shared, based_on=digest(now), checked=digest(text),
                         diff=policy_edit.diff(now, text), notice=notice)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin/policy/edit", edit_page)
    r.add_post("/admin/policy/edit", edit_post)
