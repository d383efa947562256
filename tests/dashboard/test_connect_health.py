"""Account health: lapse dates shown with a German warning in time, one notification when a
connection enters its warning time and one when it lapsed, a connection that stopped working
noticed by the hourly sweep, and „Verbindung testen“."""

from __future__ import annotations

from datetime import timedelta

from episodes import connections
from episodes.models import AccountConnection, Notification, utcnow
from workers.connect.health import sweep
from workers.runtime import Runtime

from . import connect_kit
from .connect_kit import NAMES, World, choose, connect, csrf

world = connect_kit.world  # the fixture


def _set(w: World, name: str, **values: object) -> None:
    with w.live.db.session() as s:
        s.query(AccountConnection).filter_by(account=name).update(values)


def _notes(w: World) -> list[tuple[str, str, str]]:
    with w.live.db.session() as s:
        return [(n.level, n.title, n.body) for n in s.query(Notification).order_by(Notification.id)]


def test_instagram_warning_before_and_after_the_token_lapses(world: World):
    """Three days before the Instagram token lapses the accounts page warns in German and the
    sweep sends one warning (not two); once it has lapsed, one error; reconnecting clears it."""
    name = NAMES["instagram"]
    rt = Runtime(settings=world.settings, db=world.live.db)
    with world.live.client("ada") as client:
        choose(client, connect(client, name))
        assert sweep(rt, network=False).notifications == []
        _set(world, name, token_expires_at=utcnow() + timedelta(days=3, hours=1),
             connected_at=utcnow() - timedelta(days=57))  # 57 of its 60 days are gone
        page = client.get("/accounts").text
        assert "Die Verbindung von instagram-lup (Instagram) läuft in 3 Tagen ab" in page
        assert "Neu verbinden" in page
        assert "bald erneuern" in page
        first = sweep(rt, network=False)
        assert first.warned == [name] and len(first.notifications) == 1
        assert sweep(rt, network=False).notifications == []
        _set(world, name, token_expires_at=utcnow() - timedelta(minutes=1))
        lapsed = sweep(rt, network=False)
        assert len(lapsed.notifications) == 1
        assert sweep(rt, network=False).notifications == []
        assert "abgelaufen" in client.get(f"/accounts/{name}").text
        choose(client, connect(client, name))  # reconnect: a fresh 60 days, no warning
        assert "bald erneuern" not in client.get("/accounts").text
    notes = _notes(world)
    assert [n[0] for n in notes] == ["warning", "error"]
    assert notes[0][1] == "Verbindung läuft ab: instagram-lup (Instagram)"
    assert "läuft in 3 Tagen ab" in notes[0][2] and "Neu verbinden" in notes[0][2]
    assert "abgelaufen" in notes[1][2]


def test_youtube_in_testing_lapses_after_seven_days(world: World):
    """A Google project whose consent screen is in Testing: the refresh token's end is seven
    days after consent, the warning starts 42 hours before."""
    name = NAMES["youtube"]
    deps_settings = world.settings
    yt = deps_settings.account(name)
    testing = yt.model_copy(update={"options": {**yt.options, "oauth_testing": True}})
    accounts = tuple(testing if a.name == name else a for a in deps_settings.accounts)
    app_settings = deps_settings.model_copy(update={"accounts": accounts})
    with world.live.client("ada") as client:
        world.deps.settings = app_settings  # the installer set the option
        choose(client, connect(client, name))
    with world.live.db.session() as s:
        conn = connections.get(s, name)
        assert conn is not None and conn.refresh_expires_at is not None
        lapse = connections.lapse_of(conn)
        assert lapse is not None and lapse.what_de == "das Refresh-Token"
        assert abs(lapse.lifetime - timedelta(days=7)) < timedelta(minutes=1)
        lead = lapse.at - lapse.warn_from  # a quarter of seven days
        assert abs(lead - timedelta(hours=42)) < timedelta(seconds=1)


def test_a_revoked_token_is_noticed_by_the_sweep_and_by_the_test_button(world: World):
    """The Mastodon token revoked on the instance: „Verbindung testen“ says so in German, and
    the hourly sweep tells staff once."""
    name, sb = NAMES["mastodon"], world.sbs["mastodon"]
    rt = Runtime(settings=world.settings, db=world.live.db)
    with world.live.client("ada") as client:
        connect(client, name, instance=sb.url)
        page = client.get(f"/accounts/{name}")
        ok = client.post(f"/accounts/{name}/test", data={"csrf": csrf(page.text)})
        assert ok.status_code == 303
        assert "die Plattform hat den Zugang angenommen" in client.get(ok.headers["location"]).text
        for token in list(sb.tokens):  # type: ignore[attr-defined]
            if token != "mastodon-token-1":
                sb.revoke(token)  # type: ignore[attr-defined]
        failed = client.post(f"/accounts/{name}/test", data={"csrf": csrf(page.text)})
        assert failed.status_code == 200 and "Der Test ist fehlgeschlagen" in failed.text
        assert "abgelehnt – bitte erneuern" in failed.text
        _set(world, name, checked_at=utcnow() - timedelta(days=2), check_ok=True)
        report = sweep(rt)
        assert report.failing == [name] and len(report.notifications) == 1
    level, title, body = _notes(world)[-1]
    assert level == "error"
    assert title == "Verbindung funktioniert nicht mehr: mastodon-lup (Mastodon)"
    assert "Neu verbinden" in body
