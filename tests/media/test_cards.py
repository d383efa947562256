"""Branding card stills (Pillow, no video encoder)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from workers.media.cards import BACKGROUND, render_cards


def test_cards_are_png_stills_of_the_frame_size_and_are_reused(tmp_path: Path) -> None:
    """render_cards draws an intro and an end card as PNG stills of the profile's frame size
    (blue, with white text) and reuses them for the same title and size."""
    first = render_cards("Folge 3: Matz'low, [Grüße]", 1080, 1920, 30, 1.5, tmp_path)
    for path in (first.intro, first.outro):
        with Image.open(path) as image:
            assert (image.format, image.size, image.mode) == ("PNG", (1080, 1920), "RGB")
            colours = dict((c, n) for n, c in image.getcolors(1 << 16))
        assert max(colours, key=colours.__getitem__) == BACKGROUND
        assert colours.get((255, 255, 255), 0) > 1000  # the text
    mtime = first.intro.stat().st_mtime_ns
    again = render_cards("Folge 3: Matz'low, [Grüße]", 1080, 1920, 30, 1.5, tmp_path)
    assert again == first and first.intro.stat().st_mtime_ns == mtime
    other = render_cards("Folge 4", 1080, 1920, 30, 1.5, tmp_path)
    assert other.intro != first.intro and other.outro == first.outro
