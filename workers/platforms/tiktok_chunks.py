"""TikTok's chunk rules (media transfer guide, docs/platforms/tiktok.md "Upload"): the plan a
``FILE_UPLOAD`` init declares, each chunk's byte range, and a streamed slice of the file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .http import read_chunks

MAX_CHUNKS = 1000


def plan_chunks(video_size: int, chunk_size: int) -> tuple[int, int]:
    """``(chunk_size, total_chunk_count)`` for a video, per the media transfer guide;
    ``chunk_size`` is the account's option (``TikTokOptions.chunk_size``: default and bounds
    live in ``episodes.capabilities.tiktok``)."""
    if video_size <= 0:
        raise ValueError("empty video")
    if video_size <= chunk_size:
        return video_size, 1
    while video_size // chunk_size > MAX_CHUNKS:
        chunk_size *= 2
    return chunk_size, video_size // chunk_size


def chunk_range(index: int, video_size: int, chunk_size: int, count: int) -> tuple[int, int]:
    """Byte range ``[start, end)`` of chunk ``index``; the last one takes the remainder."""
    start = index * chunk_size
    return start, (video_size if index == count - 1 else start + chunk_size)


class FileSlice:
    """Bytes ``[start, end)`` of a file, streamed in blocks (requests sends it with its length)."""

    def __init__(self, path: Any, start: int, end: int, block: int = 1024 * 1024) -> None:
        self.path, self.start, self.end, self.block = path, start, end, block

    def __len__(self) -> int:
        return self.end - self.start

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            for _offset, data in read_chunks(fh, self.start, self.end, self.block):
                yield data
