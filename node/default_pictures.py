"""The pictures a person has before they upload their own: their initials on a colour (the
avatar) and a band of a lighter shade of it (the header), drawn by Pillow as PNG. Pure: no
I/O, no database. The colour comes from the person's full handle, so the same person has
the same colour on every node that draws them.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from storage.errors import Invalid

# Each dark enough that white initials on it read at WCAG AA contrast (4.5:1 or more).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0x1F, 0x5F, 0xA8),  # blue
    (0x0B, 0x6E, 0x69),  # teal
    (0x2E, 0x6B, 0x30),  # green
    (0x8A, 0x4B, 0x08),  # amber
    (0xA3, 0x33, 0x1F),  # brick
    (0x9C, 0x27, 0x5E),  # raspberry
    (0x6B, 0x3F, 0xA0),  # violet
    (0x45, 0x4E, 0x9E),  # indigo
    (0x5C, 0x5C, 0x5C),  # graphite
    (0x7A, 0x4E, 0x2D),  # brown
)
# The sizes an avatar is drawn at (pixels a side): a short list, so the images are cached
# and no request can make the node draw an image of any size it names.
AVATAR_SIZES = (32, 48, 64, 96, 128, 192, 256, 400)
AVATAR_SIZE = 400  # Mastodon's avatar size, the default
HEADER_SIZE = (1500, 500)  # Mastodon's header size


def check_size(size: int | None) -> int:
    if size is None:
        return AVATAR_SIZE
    if size not in AVATAR_SIZES:
        raise Invalid(f"size must be one of {', '.join(map(str, AVATAR_SIZES))}")
    return size


def colour_of(handle: str) -> tuple[int, int, int]:
    """A colour of the palette picked by the full handle (`user@domain`), the same on every
    node and on every run (a digest, not Python's salted hash)."""
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def _drawable(word: str) -> str:
    # Pillow's bundled font (no font file to ship or find) draws ASCII only: accented Latin
    # letters are drawn as their base letter (É as E); other scripts would come out as empty
    # boxes, so they are left out rather than drawn wrong.
    folded = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


def initials(display_name: str, username: str) -> str:
    """Up to two letters: the first of the first and last words of the display name, else
    the first of the username; "" when none can be drawn (the colour alone is shown)."""
    words = [_drawable(w) for w in display_name.split()]
    words = [w for w in words if w]
    if words:
        return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()
    return _drawable(username)[:1].upper()


@lru_cache(maxsize=512)
def avatar_png(letters: str, colour: tuple[int, int, int], size: int) -> bytes:
    """A square PNG (the page rounds it) of `letters`, white and centred, on `colour`."""
    image = Image.new("RGB", (size, size), colour)
    if letters:
        font = ImageFont.load_default(size=round(size * (0.42 if len(letters) < 2 else 0.38)))
        ImageDraw.Draw(image).text((size / 2, size / 2), letters, fill=(255, 255, 255), font=font, anchor="mm",
                                 stroke_width=size // 90, stroke_fill=(255, 255, 255))  # a bolder face
    return _png(image)


@lru_cache(maxsize=64)
def header_png(colour: tuple[int, int, int]) -> bytes:
    """A header-sized band of a light shade of the avatar's colour."""
    shade = tuple(round(c + (255 - c) * 0.55) for c in colour)
    return _png(Image.new("RGB", HEADER_SIZE, shade))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
