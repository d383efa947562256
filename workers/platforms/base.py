"""The contract every platform adapter fulfils, and the registry of adapters.

An adapter is one module in this package with one class decorated by :func:`register`. The class
describes what its platform accepts as data (``SPEC``) and fills a few private hooks; the public
methods here own logging, timing and error wrapping.

The orchestrator (``workers.publishing``) drives a post through these steps, writing the post's
state to the database before and after every call:

    upload(ctx)        create the remote upload (session, container, media) and send the file in
                       chunks, streamed from disk. Every remote identifier and the confirmed
                       offset are handed to ``ctx.record`` the moment they are known, so a second
                       call after a crash resumes instead of starting over. Returns when the
                       platform holds all bytes.
    poll(ctx)          one look at the platform's processing state; never sleeps. The
                       orchestrator re-enqueues itself with a growing countdown while it is not
                       ready, until ``SPEC.processing_deadline`` (then staff are told). READY
                       means "publish may be called now" -- where processing only starts with the
                       publish call (Facebook's ``finish``), READY comes as soon as the bytes are
                       there, and the waiting happens after ``publish`` (``confirm_after_publish``).
    publish(ctx)       the irreversible step that makes the post public (or hands it to the
                       platform's scheduler when ``ctx.scheduled_at`` is set -- then it must never
                       publish at once: a refused time raises ``ScheduleTooClose``). Called at
                       most once blindly: if it raises ``ConnectionLost`` (outcome unknown) or the
                       worker dies, the post becomes ``unconfirmed`` and ...
    find_published(ctx) ... is asked first: does a post for this episode already exist on the
                       account (Mastodon: the same Idempotency-Key; elsewhere: the recorded ids, or
                       the episode's marker in the account's recent posts)? ``Published.public``
                       tells whether it is out now or only held by the platform's scheduler. It is
                       read-only: "nothing found" is ``None``, never an error; a failing lookup
                       raises a typed error that the orchestrator retries until its deadline.
    finish_parts(ctx)  the follow-up parts still missing after publishing (pure: reads
                       ``ctx.remote``), in order: captions (required: BITV 2.0; a post is
                       ``published`` only once its German caption track is accepted), thumbnail,
                       playlist.
    finish_part(ctx, part)  sends one part, idempotently; the base records ``<part>_done``.
    delete(ctx)        withdraw: the platform's documented delete call on the RECORDED remote id
                       only (never on something found by a guess). A post already gone counts as
                       deleted, so a delete whose answer was lost is simply sent again; nothing is
                       ever replayed that could publish. Without a delete call in the platform's
                       API the adapter raises ``DeleteByHand`` (staff delete it in the app).

Where the platform's upload itself publishes (TikTok Direct Post, ``SPEC.upload_publishes``),
``upload`` records the publish id first and ``publish`` only confirms, and the orchestrator never
starts the upload before the slot; where it can be separated (YouTube: upload private, then set
public), it is.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol

import requests

from config import AccountSettings
from config.credentials import MissingCredential
from episodes.capabilities import Options, check_text, parse_options, text_limits
from episodes.captions import PostText, TextLimits

from .errors import ConnectionLost, DeleteByHand, PlatformError

log = logging.getLogger("wtg.platforms")


@dataclass(frozen=True, kw_only=True)
class PlatformSpec:
    """Capabilities of a platform, as data."""

    name: str  # registry key, e.g. "youtube"
    label: str  # for staff, e.g. "YouTube"
    text: TextLimits  # episodes/capabilities/text.py; video limits: capabilities/video.py
    chunk_size: int  # bytes per upload request
    native_scheduling: bool = False
    #: native scheduling: the publish time must lie at least this many seconds ahead (and at
    #: most ``max_schedule_lead``); closer than that wtg publishes at the slot itself
    min_schedule_lead: float = 0.0
    max_schedule_lead: float | None = None
    refreshable_tokens: bool = False
    #: publish() only confirms receipt; poll() reports PUBLISHED when the post is really out
    #: (Facebook: `finish` is followed by processing that can still fail or leave a draft)
    confirm_after_publish: bool = False
    #: the upload itself makes the post public (TikTok Direct Post): nothing is sent before the
    #: slot
    upload_publishes: bool = False
    #: deadlines (real seconds) of the waits; past one the post needs staff, with a German reason:
    #: upload done -> ready to publish
    processing_deadline: float = 2 * 3600.0
    #: publish sent (confirm_after_publish) or slot passed (native scheduling) -> public
    confirm_deadline: float = 2 * 3600.0
    #: published -> every finish part (captions, thumbnail, playlist) accepted
    finish_deadline: float = 3600.0


class Credentials(Protocol):
    """Access to an account's secrets (``config.credentials.CredentialStore`` implements it)."""

    def get(self, key: str) -> str | None: ...

    def require(self, key: str) -> str: ...

    def update(self, values: Mapping[str, str]) -> None:
        """Persist rotated secrets (a refreshed token) to the account's secret file."""


class QuotaLedger(Protocol):
    """Per-account usage of a daily quota (YouTube units), kept in the database."""

    def remaining(self) -> int: ...

    def spend(self, units: int, what: str) -> None: ...


#: The one account noun: an adapter gets the configured account as it is (``name``, ``platform``,
#: ``display_name``, ``api_base`` -- every endpoint is relative to it, so tests use local servers
#: -- and ``options``, checked against ``episodes.capabilities`` at start-up and parsed into the
#: platform's typed options model when the adapter is built: ``Platform.opts``); secrets stay
#: behind ``credentials``.
Account = AccountSettings


@dataclass(frozen=True, kw_only=True)
class MediaFile:
    path: Path
    size: int
    sha256: str
    mime: str = "video/mp4"
    duration: float | None = None  # seconds, when known (TikTok refuses over its maximum)
    width: int | None = None  # pixels, when known (Facebook: vertical goes out as a Reel)
    height: int | None = None


@dataclass(frozen=True, kw_only=True)
class PostContext:
    """Everything an adapter needs for one post. Built by the orchestrator."""

    post_id: int
    episode_number: int
    account: Account
    credentials: Credentials
    video: MediaFile
    text: PostText
    marker: str  # unique per post, e.g. "wtg-s1-e03-youtube-lup"; used to reconcile
    idempotency_key: str  # deterministic per post
    remote: Mapping[str, Any]  # everything recorded so far for this post
    record: Callable[[Mapping[str, Any]], None]  # persist new remote facts at once
    captions_srt: Path | None = None
    captions_vtt: Path | None = None
    thumbnail: Path | None = None
    scheduled_at: datetime | None = None  # native scheduling: publish at this (aware) time
    progress: Callable[[int, int], None] | None = None  # (bytes sent, total)
    quota: QuotaLedger | None = None  # where the platform has a unit quota (YouTube)
    playlist_id: str | None = None  # YouTube: the season's playlist, if configured


class ProcessingState(StrEnum):
    PENDING = "pending"
    READY = "ready"  # the platform finished processing; publishing may go ahead
    PUBLISHED = "published"  # processing also published it (TikTok, Reels finish)


@dataclass(frozen=True, kw_only=True)
class Processing:
    state: ProcessingState
    detail: str = ""
    retry_after: float = 5.0  # suggested wait before the next poll


@dataclass(frozen=True, kw_only=True)
class Published:
    remote_id: str
    url: str
    #: False: the platform holds the post for its own scheduler and it is not public yet
    public: bool = True


@dataclass(frozen=True, kw_only=True)
class Deleted:
    """The answer of ``delete``: ``existed`` False when there was nothing (left) to delete --
    never uploaded, or already gone (an earlier delete whose answer was lost)."""

    remote_id: str
    existed: bool = True


#: remote facts that mean the post may be (or was) visible on the platform
PUBLISH_FACTS = ("online", "publish_started", "publish_sent", "status_attempt_at",
                 "publish_id", "scheduled_id", "media_publish_sent", "container_published")


class FinishPart(StrEnum):
    """What follows the publish call, in this order."""

    CAPTIONS = "captions"  # the German caption track (sidecar platforms): required, BITV 2.0
    THUMBNAIL = "thumbnail"
    PLAYLIST = "playlist"


#: without these the post is not ``published`` (it needs staff once their deadline passes)
REQUIRED_PARTS = frozenset({FinishPart.CAPTIONS})


_REGISTRY: dict[str, type[Platform]] = {}


def register(cls: type[Platform]) -> type[Platform]:
    """Class decorator: make an adapter available under ``cls.SPEC.name``."""
    name = cls.SPEC.name
    if name in _REGISTRY:
        raise ValueError(f"platform {name!r} is registered twice")
    _REGISTRY[name] = cls
    return cls


def registry() -> Mapping[str, type[Platform]]:
    from . import load_all

    load_all()
    return dict(_REGISTRY)


def adapter_class(platform: str) -> type[Platform]:
    adapters = registry()
    try:
        return adapters[platform]
    except KeyError:
        known = ", ".join(sorted(adapters))
        raise KeyError(f"unknown platform {platform!r} (known: {known})") from None


class Platform(ABC):
    """Base class: public methods wrap the private hooks an adapter writes."""

    SPEC: ClassVar[PlatformSpec]
    #: the account's options as the platform's frozen capability model
    #: (``episodes.capabilities.<platform>``): typed values, and the one place defaults live.
    #: Adapters read ``self.opts.<option>``, never ``account.options``.
    opts: Options

    def __init__(self, account: Account, credentials: Credentials) -> None:
        self.account = account
        self.credentials = credentials
        # raises ValueError with the German problems for a bad or missing option (the
        # orchestrator hands the post to staff with them)
        self.opts = parse_options(account)

    # --- checks at queue time (pure, no network) -------------------------------------------
    def check_text(self, text: PostText) -> list[str]:
        """Problems with ``text`` for this account, as German sentences (empty: fine) — the
        same pure check the season load, pre-flight and previews run
        (``episodes.capabilities.check_text``), against this adapter's ``text_limits``."""
        return check_text(self.account, text, limits=self.text_limits())

    def learned_options(self) -> dict[str, str]:
        """Account options the platform told us about itself (after ``check_credentials``), to
        be kept with the account's connection: e.g. a Mastodon instance's ``max_characters``."""
        return {}

    def min_schedule_lead(self) -> float:
        """Seconds a native publish time must lie ahead: ``SPEC.min_schedule_lead`` (the
        documented minimum plus a margin), unless the account sets ``min_schedule_lead`` (a test
        server with a shorter minimum, or a more careful setting)."""
        own: float | None = getattr(self.opts, "min_schedule_lead", None)
        return float(own) if own is not None else float(self.SPEC.min_schedule_lead)

    def text_limits(self) -> TextLimits:
        """The limits this account's text is measured against (the capability data; an
        adapter that learns more from its server, like a Mastodon instance's
        ``max_characters``, says so)."""
        return text_limits(self.account)

    # --- network steps ----------------------------------------------------------------------
    def check_credentials(self) -> None:
        """A cheap authenticated call; raises CredentialsExpired (after a refresh attempt)."""
        self._call("check_credentials", self._check_credentials)

    def upload(self, ctx: PostContext) -> None:
        self._call("upload", self._upload, ctx)

    def poll(self, ctx: PostContext) -> Processing:
        return self._call("poll", self._poll, ctx)

    def publish(self, ctx: PostContext) -> Published:
        return self._call("publish", self._publish, ctx)

    def find_published(self, ctx: PostContext) -> Published | None:
        return self._call("find_published", self._find_published, ctx)

    def finish_parts(self, ctx: PostContext) -> list[FinishPart]:
        """The follow-up parts this post still lacks, in order (pure: reads ``ctx.remote``)."""
        return [p for p in self._finish_parts(ctx) if not ctx.remote.get(f"{p}_done")]

    def finish_part(self, ctx: PostContext, part: FinishPart) -> None:
        """Send one follow-up part (idempotent); recorded as ``<part>_done`` once accepted."""
        self._call(f"finish.{part}", self._finish_part, ctx, part)
        ctx.record({f"{part}_done": True})

    def delete(self, ctx: PostContext) -> Deleted:
        """Take the post back from the platform (see the module docstring)."""
        return self._call("delete", self._delete, ctx)

    def finish(self, ctx: PostContext) -> None:
        """Every missing follow-up part, each tried even when an earlier one failed; the first
        error is raised at the end (a convenience for tests and tools; the orchestrator sends
        them one by one with retries and deadlines)."""
        from dataclasses import replace

        errors: list[Exception] = []
        for part in self.finish_parts(ctx):
            try:
                self.finish_part(ctx, part)
            except (PlatformError, MissingCredential) as exc:
                errors.append(exc)
                continue
            ctx = replace(ctx, remote={**ctx.remote, f"{part}_done": True})
        if errors:
            raise errors[0]

    def _call(self, step: str, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.monotonic()
        log.debug("%s.%s start", self.SPEC.name, step)
        try:
            result = fn(*args)
        except (PlatformError, MissingCredential):  # a missing secret is for staff to fix
            raise
        except requests.RequestException as exc:  # an adapter forgot to translate one
            raise ConnectionLost(self.SPEC.name, f"{step}: {type(exc).__name__}") from exc
        # anything else (KeyError, TypeError ...) is a bug of ours or an answer we did not
        # expect: it propagates as it is, so the orchestrator logs it with its traceback and
        # hands the post to staff as "interner Fehler" -- never as "the platform said no"
        log.debug("%s.%s done in %.2fs", self.SPEC.name, step, time.monotonic() - started)
        return result

    @abstractmethod
    def _check_credentials(self) -> None: ...

    @abstractmethod
    def _upload(self, ctx: PostContext) -> None: ...

    @abstractmethod
    def _poll(self, ctx: PostContext) -> Processing: ...

    @abstractmethod
    def _publish(self, ctx: PostContext) -> Published: ...

    @abstractmethod
    def _find_published(self, ctx: PostContext) -> Published | None: ...

    def _finish_parts(self, ctx: PostContext) -> list[FinishPart]:
        """The parts that apply to this post (captions only where the platform takes a caption
        file and the rendition has one)."""
        return []

    def _finish_part(self, ctx: PostContext, part: FinishPart) -> None:
        raise NotImplementedError(f"{self.SPEC.name}: no finish part {part}")

    def _delete(self, ctx: PostContext) -> Deleted:
        """Platforms whose API has no delete call: nothing to do if nothing was ever sent to be
        published, else staff delete it in the app (``DeleteByHand``)."""
        if not any(ctx.remote.get(k) for k in PUBLISH_FACTS):
            return Deleted(remote_id="", existed=False)
        raise DeleteByHand(self.SPEC.label, "no delete call in the platform's API")
