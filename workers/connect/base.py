"""What every platform's connect flow shares: the contract, the outcome types, PKCE and the one
HTTP call with German errors.

A connector drives one authorization code flow for one account (docs/platforms/connect.md):

    prepare()                   before the redirect (Mastodon registers wtg as an application
                                on the instance the staffer named); returns facts to keep in
                                the flow (never secrets)
    authorize_url(state, challenge, credentials)   the platform's consent page
    exchange(code, verifier)    the callback: code -> tokens, the granted scopes checked, and
                                what the staffer chooses from (pages, channels) if anything
    choose(staged, choice)      the chosen page/account: the tokens to store and the facts

Errors are :class:`ConnectError` with a German message for the admin; a missing scope is
:class:`MissingScopes`, which names each one and what wtg needs it for. Nothing here logs a
token, a code or a client secret; URLs are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests

from config import AccountSettings
from config.credentials import AppCredentials
from episodes.connections import Facts
from episodes.models import utcnow

log = logging.getLogger("wtg.connect")
TIMEOUT = (5.0, 30.0)
USER_AGENT = "wtg/1 (Landkreis Ludwigslust-Parchim)"


class ConnectError(Exception):
    """The connection could not be made; ``message_de`` tells the admin why and what to do."""

    def __init__(self, message_de: str) -> None:
        self.message_de = message_de
        super().__init__(message_de)


class MissingScopes(ConnectError):
    """The person did not grant everything wtg needs (unticked a box on the consent page)."""

    def __init__(self, label: str, missing: Mapping[str, str]) -> None:
        self.missing = list(missing)
        items = "; ".join(f"„{scope}“ ({why})" for scope, why in missing.items())
        super().__init__(
            f"{label} hat nicht alle nötigen Berechtigungen erteilt. Es fehlt: {items}. Die "
            "Verbindung wurde nicht gespeichert. Bitte noch einmal verbinden und auf der "
            "Einwilligungsseite alle Berechtigungen erlauben.")


@dataclass(frozen=True, kw_only=True)
class Choice:
    """Something the staffer picks after the callback (a page, a channel): no secrets."""

    id: str
    name: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "detail": self.detail}


@dataclass(frozen=True, kw_only=True)
class Exchanged:
    """The callback's outcome. ``secrets`` go to the secrets store (staged until the choice
    when ``choices`` is not empty); ``facts`` is set when nothing is left to choose."""

    secrets: Mapping[str, str]
    scopes: tuple[str, ...]
    choices: tuple[Choice, ...] = ()
    facts: Facts | None = None
    #: non-secret facts the flow keeps until the choice (ISO dates, ids)
    pending: Mapping[str, Any] = field(default_factory=dict)
    summary: Mapping[str, Any] = field(default_factory=dict)  # shown on the result page


@dataclass(frozen=True, kw_only=True)
class Finished:
    secrets: Mapping[str, str]
    facts: Facts


def pkce_pair(secret: str, state: str) -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) derived from the flow's state with the dashboard's
    secret key: nothing to store, and nobody without the key can compute it (RFC 7636 4.1:
    43 characters of base64url)."""
    mac = hmac.new(secret.encode("utf-8"), b"wtg-pkce:" + state.encode("utf-8"), hashlib.sha256)
    verifier = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")
    return verifier, challenge


def when(iso: Any) -> datetime | None:
    """A datetime kept as ISO text in a flow, back (None for none)."""
    return datetime.fromisoformat(iso) if isinstance(iso, str) and iso else None


def expires(seconds: Any, *, now: datetime | None = None) -> datetime | None:
    """``now + seconds`` for a token lifetime a platform reported, None if it did not."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return None
    return (now or utcnow()) + timedelta(seconds=value) if value > 0 else None


class Connector(ABC):
    """One platform's connect flow for one account (see the module docstring)."""

    platform: ClassVar[str]
    label: ClassVar[str]
    #: the platform documents PKCE for this kind of client (docs/platforms/connect.md)
    pkce: ClassVar[bool] = False
    #: scope -> what wtg needs it for (German); all must be granted
    REQUIRED: ClassVar[dict[str, str]] = {}

    def __init__(self, account: AccountSettings, *, app: AppCredentials | None,
                 redirect_uri: str, params: Mapping[str, Any] | None = None,
                 public_url: str = "") -> None:
        self.account = account
        self.app = app
        self.redirect_uri = redirect_uri
        self.params = dict(params or {})
        self.public_url = public_url
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def prepare(self, credentials: Any) -> dict[str, Any]:
        """Work before the redirect; returns non-secret facts the flow keeps."""
        return {}

    @abstractmethod
    def authorize_url(self, state: str, challenge: str, credentials: Any) -> str: ...

    @abstractmethod
    def exchange(self, code: str, verifier: str, credentials: Any) -> Exchanged: ...

    def choose(self, staged: Mapping[str, str], picked: Mapping[str, Any],
               pending: Mapping[str, Any]) -> Finished:
        """The tokens to store and the facts, once the staffer picked ``picked`` (one of the
        flow's choices)."""
        raise ConnectError(f"Bei {self.label} gibt es nichts auszuwählen.")

    # --- helpers --------------------------------------------------------------------------
    def option(self, name: str, default: str) -> str:
        value = self.account.options.get(name)
        return str(value).rstrip("/") if value else default

    def check_scopes(self, granted: set[str]) -> None:
        missing = {s: why for s, why in self.REQUIRED.items() if s not in granted}
        if missing:
            raise MissingScopes(self.label, missing)

    def call(self, method: str, url: str, *, what: str, ok: tuple[int, ...] = (200,),
             **kwargs: Any) -> Any:
        """One request; its JSON answer, or a German ConnectError naming ``what`` failed.
        Neither the URL nor the body is logged (they carry codes, tokens and secrets)."""
        started = time.monotonic()
        try:
            resp = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            log.warning("%s: %s failed (%s)", self.platform, what, type(exc).__name__)
            raise ConnectError(
                f"{self.label} ist gerade nicht erreichbar ({what}). Bitte in ein paar Minuten "
                "noch einmal versuchen.") from None
        log.info("%s: %s -> %s in %.2f s", self.platform, what, resp.status_code,
                 time.monotonic() - started)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code not in ok:
            raise ConnectError(
                f"{self.label} hat {what} abgelehnt (HTTP {resp.status_code}"
                f"{': ' + _reason(body) if _reason(body) else ''}). Bitte noch einmal "
                "verbinden; bleibt es dabei, die Technik informieren.")
        if not isinstance(body, dict | list):
            raise ConnectError(f"{self.label} hat auf {what} keine lesbare Antwort gegeben.")
        return body


def _reason(body: Any) -> str:
    """The platform's own short error text (never anything that could hold a secret)."""
    if not isinstance(body, dict):
        return ""
    err = body.get("error")
    if isinstance(err, dict):
        text = err.get("message") or err.get("code") or ""
    else:
        text = body.get("error_description") or err or ""
    return str(text)[:200]


__all__ = ["Choice", "ConnectError", "Connector", "Exchanged", "Finished", "MissingScopes",
           "expires", "pkce_pair", "when"]
