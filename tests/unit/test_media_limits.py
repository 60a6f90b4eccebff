"""The media caps are settings (`media.*` in atrium.toml): written by `atrium init`, read, checked,
and in force in the node's context."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from atrium.assembly import context_for
from node.media_processing import MediaLimits
from node.settings import SETTINGS_FILE, Settings, load, render
from storage.db import Database
from storage.errors import Invalid


def _write(folder: Path, text: str) -> None:
    (folder / SETTINGS_FILE).write_text(text, encoding="utf-8")


def test_the_caps_written_by_init_are_read_back_and_in_force(tmp_path: Path) -> None:
    # Given a settings file as `atrium init` writes it, with caps of its own
    settings = replace(Settings(data_dir=tmp_path, domain="eng.acme.test"), media_max_image_bytes=1000,
                       media_max_file_bytes=2000, media_max_image_pixels=3000)
    _write(tmp_path, render(settings))
    # When the node reads it and builds its context
    loaded = load(tmp_path)
    ctx = context_for(loaded, Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
    # Then the caps are the file's, and in force
    assert ctx.media_limits == MediaLimits(max_image_bytes=1000, max_file_bytes=2000, max_image_pixels=3000)


def test_defaults_without_a_media_section(tmp_path: Path) -> None:
    _write(tmp_path, 'domain = "eng.acme.test"\n')
    assert load(tmp_path).media_limits() == MediaLimits()


@pytest.mark.parametrize("value", ["0", "-5", '"big"', "true", "1.5"])
def test_a_cap_that_is_no_positive_number_is_refused(tmp_path: Path, value: str) -> None:
    # Given a settings file whose picture cap is not a positive whole number
    _write(tmp_path, f'domain = "eng.acme.test"\n[media]\nmax_image_bytes = {value}\n')
    # When it is read, Then it is refused with a one-line reason naming the key
    with pytest.raises(Invalid, match="media.max_image_bytes must be a"):
        load(tmp_path)
