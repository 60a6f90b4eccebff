"""Pictures of people, without a node: a peer's `icon`/`image` as real servers write them
(federation/parsing.py `parse_picture`), the actor document's own (federation/builders.py),
and the default avatar's initials and colour (node/default_pictures.py)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from federation.builders import picture_to_ap
from federation.parsing import parse_picture
from federation.vocab import Picture
from node.default_pictures import AVATAR_SIZES, PALETTE, avatar_png, check_size, colour_of, initials
from storage.errors import Invalid

URL = "https://social.example/files/a.png"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Mastodon's: one Image with its type
        ({"type": "Image", "mediaType": "image/png", "url": URL}, Picture(URL, "image/png")),
        # No type said; a bare URL; a list whose first usable item is taken
        ({"type": "Image", "url": URL}, Picture(URL)),
        (URL, Picture(URL)),
        ([{"type": "Image", "url": "ftp://x.example/a.png"}, {"type": "Image", "url": URL}], Picture(URL)),
        # The URL as a Link (or several), its own mediaType said on the link
        ({"type": "Image", "url": {"type": "Link", "href": URL, "mediaType": "IMAGE/JPEG"}}, Picture(URL, "image/jpeg")),
        ({"type": "Image", "url": [{"type": "Link", "href": "javascript:x"}, {"href": URL}]}, Picture(URL)),
    ],
)
def test_a_peers_picture_is_read_in_the_forms_servers_write(value: object, expected: Picture) -> None:
    # Given an actor's icon as one server or another writes it
    # When it is read
    # Then its URL and type are what it says
    assert parse_picture(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None, 42, [], {"type": "Image"},
        {"type": "Image", "url": "javascript:alert(1)"},
        {"type": "Image", "url": "data:image/png;base64,AAAA"},
        {"type": "Image", "url": "/relative.png"},
        {"type": "Image", "url": "https://x.example/" + "a" * 3000},
        {"type": "Image", "mediaType": "image/svg+xml", "url": URL},
        {"type": "Image", "mediaType": "text/html", "url": URL},
        {"type": "Image", "mediaType": ["image/png"], "url": URL},
    ],
)
def test_a_picture_a_page_must_not_load_is_left_out(value: object) -> None:
    # Given an icon that is missing, not http(s), too long, or says it is not a raster image
    # When it is read
    # Then there is no picture (and no error: a picture never refuses an actor)
    assert parse_picture(value) is None


def test_an_actors_own_picture_is_written_as_mastodon_writes_it() -> None:
    assert picture_to_ap(Picture(URL, "image/png")) == {"type": "Image", "url": URL, "mediaType": "image/png"}
    assert picture_to_ap(Picture(URL)) == {"type": "Image", "url": URL}


@pytest.mark.parametrize(
    ("display_name", "username", "expected"),
    [
        ("Ada Lovelace", "ada", "AL"),
        ("Mary Ann de la Cruz", "m", "MC"),  # first and last words
        ("Émile", "e", "E"),  # accents drawn as their base letter
        ("  ", "bob", "B"),  # no name: the username's first letter
        ("李小龙", "li", "L"),  # a script the bundled font cannot draw: the username
        ("李小龙", "_", ""),  # nothing drawable: the colour alone
    ],
)
def test_initials_are_the_letters_that_can_be_drawn(display_name: str, username: str, expected: str) -> None:
    assert initials(display_name, username) == expected


def test_a_colour_is_the_same_for_a_handle_everywhere_and_differs_between_people() -> None:
    # Given handles of many people
    handles = [f"user{i}@eng.acme.example" for i in range(200)]
    # Then each one's colour is of the palette, the same whatever its case
    assert all(colour_of(h) in PALETTE and colour_of(h) == colour_of(h.upper()) for h in handles)
    # And the people are spread over the whole palette
    assert {colour_of(h) for h in handles} == set(PALETTE)


def test_white_initials_read_on_every_colour_of_the_palette() -> None:
    # WCAG 2 contrast of white on each colour: at least 4.5:1 (AA for text)
    def luminance(rgb: tuple[int, int, int]) -> float:
        c = [v / 255 for v in rgb]
        lin = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    assert all(1.05 / (luminance(colour) + 0.05) >= 4.5 for colour in PALETTE)


def test_an_avatar_is_drawn_at_each_size_listed_and_no_other() -> None:
    for size in AVATAR_SIZES:
        assert Image.open(io.BytesIO(avatar_png("AL", PALETTE[0], size))).size == (size, size)
    assert check_size(None) == 400
    with pytest.raises(Invalid):
        check_size(401)
