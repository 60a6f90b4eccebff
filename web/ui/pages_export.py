"""Import and export in the signed-in person's settings: their own archive in Mastodon's shape
(node/export_user.py), the accounts they follow and their followers as CSV, and a following
list imported through the normal follow (node/follows_csv.py: the trust policy decides each)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from node import export_user, follows_csv
from node.follows_csv import BadCsv, Imported
from storage.errors import Invalid
from storage.models import utcnow
from web.ui.core import Page, page

HOME = "/settings/export"


class _TemporaryFile(web.FileResponse):
    """A file made for this one response: its folder is removed once it was sent (or not)."""

    def __init__(self, path: Path, folder: Path, download_name: str) -> None:
        super().__init__(path, headers={"Content-Type": "application/zip",
                                        "Content-Disposition": f'attachment; filename="{download_name}"'})
        self._folder = folder

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        try:
            return await super().prepare(request)
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


def _home(p: Page, status: int = 200, *, imported: Imported | None = None, error: str | None = None,
          bad: list[follows_csv.BadLine] | None = None) -> web.Response:
    return p.render("export.html", status, title="Import and export", imported=imported, error=error, bad=bad or [],
                    max_lines=follows_csv.MAX_LINES)


@page()
async def home(p: Page) -> web.StreamResponse:
    return _home(p)


@page()
async def archive(p: Page) -> web.StreamResponse:
    me = p.user
    folder = Path(tempfile.mkdtemp(prefix="atrium-archive-"))
    name = f"archive-{me.username}-{utcnow():%Y%m%d%H%M%S}.zip"
    try:
        path = await export_user.write_user_archive(p.ctx, me, folder / name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return _TemporaryFile(path, folder, name)


def _csv(text: str, name: str) -> web.Response:
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@page()
async def following(p: Page) -> web.StreamResponse:
    return _csv(await follows_csv.following_csv(p.ctx, p.user), "following_accounts.csv")


@page()
async def followers(p: Page) -> web.StreamResponse:
    return _csv(await follows_csv.followers_csv(p.ctx, p.user), "followers.csv")


@page(files=("csv",))
async def import_following(p: Page) -> web.StreamResponse:
    upload = p.files.get("csv")
    if upload is None:
        return _home(p, 422, error="Choose a CSV file of accounts to follow.")
    try:
        imported = await follows_csv.import_following(p.ctx, p.user, upload.data)
    except BadCsv as exc:
        return _home(p, 422, error="Nothing was imported: these lines are not account addresses.", bad=exc.lines)
    except Invalid as exc:
        return _home(p, 422, error=f"Nothing was imported: {exc.reason}.")
    return _home(p, imported=imported)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(HOME, home)
    r.add_post(f"{HOME}/archive", archive)
    r.add_get(f"{HOME}/following_accounts.csv", following)
    r.add_get(f"{HOME}/followers.csv", followers)
    r.add_post(f"{HOME}/following", import_following)
