"""Series branding: short intro/end cards rendered once per title and frame size.

Pillow draws the text with the bundled DejaVu font (no ImageMagick) into a PNG still. The
transcode pass reads that one image, holds it for the card's length (``tpad`` clones the
frame: one PNG decode per card), fades it in and out and joins it to the episode with
``concat`` in the same filter graph: no extra encode, no episode frame through Python.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONTS_DIR = Path(__file__).with_name("fonts")
FONT_REGULAR = FONTS_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONTS_DIR / "DejaVuSans-Bold.ttf"
SERIES = "Wir tun GUTes"
CARD_VERSION = "3"  # 3: a PNG still (2: an x264 clip written by moviepy)
BACKGROUND = (0, 84, 128)  # dark blue; white text has a contrast ratio above 7:1
FOREGROUND = (255, 255, 255)


@dataclass(frozen=True, kw_only=True)
class CardPair:
    intro: Path
    outro: Path
    seconds: float


def _fit_font(draw: ImageDraw.ImageDraw, text: str, font: Path, max_w: int, size: int):
    while size > 10:
        face = ImageFont.truetype(str(font), size)
        if draw.textlength(text, font=face) <= max_w:
            return face
        size = int(size * 0.9)
    return ImageFont.truetype(str(font), size)


def card_image(width: int, height: int, lines: list[str]) -> Image.Image:
    """An RGB frame with centred lines; the first line bold and largest."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    base = min(width, height)
    faces = [
        _fit_font(draw, line, FONT_BOLD if i == 0 else FONT_REGULAR, int(width * 0.86),
                  int(base * (0.09 if i == 0 else 0.06)))
        for i, line in enumerate(lines)
    ]
    heights = [face.getbbox("ÄÖÜgy")[3] for face in faces]
    gap = int(base * 0.04)
    y = (height - sum(heights) - gap * (len(lines) - 1)) // 2
    for line, face, h in zip(lines, faces, heights, strict=True):
        draw.text((width / 2, y), line, font=face, fill=FOREGROUND, anchor="ma")
        y += h + gap
    return image


def card_lines(title: str, kind: str) -> list[str]:
    """Texts of an intro ("Wir tun GUTes", "Folge 3: Matzlow") or end card."""
    if kind == "intro":
        return [SERIES, title] if title else [SERIES]
    return [SERIES, "Eine Reihe des Landkreises", "Mehr Folgen: jede Woche neu"]


def render_cards(
    title: str, width: int, height: int, fps: int, seconds: float, cache_dir: Path
) -> CardPair:
    """Draw (or reuse) the intro and end card stills for this title and frame size.

    ``fps`` and ``seconds`` are part of the cache key only: the transcode pass holds the
    still for the card's length at the profile's frame rate."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind in ("intro", "outro"):
        lines = card_lines(title, kind)
        key = hashlib.sha256(
            repr((CARD_VERSION, lines, width, height, fps, seconds)).encode()
        ).hexdigest()[:16]
        path = cache_dir / f"card-{kind}-{width}x{height}-{key}.png"
        if not path.exists():
            temp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.png")
            try:
                card_image(width, height, lines).save(temp, format="PNG")
                os.replace(temp, path)
            finally:
                temp.unlink(missing_ok=True)
        paths[kind] = path
    return CardPair(intro=paths["intro"], outro=paths["outro"], seconds=seconds)
