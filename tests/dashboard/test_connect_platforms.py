"""Facebook, Instagram, TikTok and Mastodon connected over real HTTP through their sandboxes'
authorization servers; what each connection learned is laid over the account's settings, so
the platform adapter works with it at once; a disconnect forgets the tokens, not the history."""

from __future__ import annotations

import json
from datetime import timedelta

from episodes import connections
from episodes.models import AuditEntry, utcnow
from workers.publishing import check_account_credentials
from workers.runtime import Runtime

from . import connect_kit
from .connect_kit import NAMES, World, choose, connect, csrf

world = connect_kit.world  # the fixture


def _ok(w: World, name: str) -> bool:
    return bool(check_account_credentials(Runtime(settings=w.settings, db=w.live.db),
                                          name)["ok"])


def _stored(w: World, name: str) -> dict[str, str]:
    return json.loads((w.secrets_dir / name / "rotated.json").read_text(encoding="utf-8"))


def test_facebook_page_chosen_from_me_accounts(world: World):
    """Facebook Login: the code becomes a long-lived user token, the permissions are checked,
    the Page is chosen from /me/accounts and its Page token (no end date) is stored; the page
    id reaches the Facebook adapter without any setting."""
    name = NAMES["facebook"]
    assert not _ok(world, name)  # no page, no token: "noch nicht verbunden"
    with world.live.client("ada") as client:
        page = connect(client, name)
        assert "Landkreis (Sandbox-Seite)" in page.text, page.text
        done = choose(client, page)
        assert done.status_code == 200 and "läuft nicht ab" in done.text
    stored = _stored(world, name)
    assert stored["access_token"].startswith("EAAPAGE-") and stored["oauth_app"] == "meta"
    with world.live.db.session() as s:
        conn = connections.get(s, name)
        assert conn is not None and conn.options == {"page_id": "104857600000001"}
        assert conn.token_expires_at is None and "publish_video" in conn.scopes
    assert _ok(world, name)


def test_facebook_without_publish_video_is_refused(world: World):
    """Unticking publish_video on Facebook's dialog is refused, naming the permission."""
    keep = ["pages_show_list", "pages_manage_posts", "pages_read_engagement"]
    with world.live.client("ada") as client:
        answer = connect(client, NAMES["facebook"], grant=keep)
    assert answer.status_code == 400 and "„publish_video“" in answer.text


def test_instagram_account_of_the_linked_page_with_its_60_day_token(world: World):
    """Instagram: the long-lived user token (about 60 days) and the chosen Page's linked
    Instagram professional account; the lapse date is shown and the adapter works."""
    name = NAMES["instagram"]
    with world.live.client("ada") as client:
        page = connect(client, name)
        assert "@landkreis_sandbox" in page.text and "Landkreis Ludwigslust-Parchim" in page.text
        done = choose(client, page)
        assert done.status_code == 200
        accounts = client.get("/accounts")
    with world.live.db.session() as s:
        conn = connections.get(s, name)
        assert conn is not None and conn.options == {"ig_user_id": "17841400000000077"}
        assert conn.token_expires_at is not None
        left = conn.token_expires_at - utcnow()
        assert timedelta(days=59) < left < timedelta(days=61)
        lapse = connections.lapse_of(conn)
        assert lapse is not None and lapse.at - lapse.warn_from == timedelta(days=14)
    assert _stored(world, name)["access_token"].startswith("EAAUSER-")
    assert "bald erneuern" not in accounts.text
    assert _ok(world, name)


def test_tiktok_shows_the_creator_and_keeps_the_refresh_token_end(world: World):
    """TikTok Login Kit: scope video.publish granted, creator info shown after connecting, the
    refresh token's end recorded; the adapter posts with the stored pair."""
    name = NAMES["tiktok"]
    with world.live.client("ada") as client:
        start = client.get(f"/accounts/{name}/connect")
        target = start.headers["location"]
        assert "client_key=tiktok-client-key" in target
        assert "scope=user.info.basic%2Cvideo.publish" in target
        assert "code_challenge" not in target  # Login Kit for Web documents no PKCE
        done = client.get(connect_kit.consent(target))
        assert done.status_code == 200, done.text
        assert "@landkreis_lup (Landkreis Ludwigslust-Parchim)" in done.text
        assert "öffentlich" in done.text and "Videos bis 600 s" in done.text
    with world.live.db.session() as s:
        conn = connections.get(s, name)
        assert conn is not None and conn.refresh_expires_at is not None
        assert conn.remote_id == "sandbox-open-id"
    first = _stored(world, name)
    assert set(first) >= {"access_token", "refresh_token"} and first["oauth_app"] == "tiktok"
    world.sbs["tiktok"].expire_access_tokens()  # type: ignore[attr-defined]
    assert _ok(world, name)  # refreshed with the app's client key, the pair rotated
    rotated = _stored(world, name)
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["oauth_app"] == "tiktok"


def test_mastodon_instance_named_registers_once_and_reconnect_keeps_history(world: World):
    """The staffer names the instance; wtg registers itself there (POST /api/v1/apps), gets a
    token through the consent page and learns the account; a reconnect reuses the registered
    app, replaces the token and keeps the account's posts; a disconnect forgets the tokens."""
    name, sb = NAMES["mastodon"], world.sbs["mastodon"]
    with world.live.client("ada") as client:
        form = client.get(f"/accounts/{name}/connect")
        assert "Adresse der Instanz" in form.text
        bad = client.post(f"/accounts/{name}/connect",
                          data={"instance": "kein url", "csrf": csrf(form.text)})
        assert bad.status_code == 400 and "keine gültige Adresse" in bad.text
        bare = sb.url.removeprefix("http://")  # without a scheme: https:// is assumed
        tls = client.post(f"/accounts/{name}/connect",
                          data={"instance": bare, "csrf": csrf(form.text)})
        assert tls.status_code == 502 and "nicht erreichbar" in tls.text  # no TLS there
        first = connect(client, name, instance=sb.url)
        assert first.status_code == 200, first.text
        host = sb.url.removeprefix("http://")
        assert f"verbunden mit „@landkreis@{host}“" in first.text.replace("Verbunden", "verbunden")
        token1 = _stored(world, name)["access_token"]
        apps = len(sb.oauth().clients)  # type: ignore[attr-defined]
        second = connect(client, name, instance=sb.url)
        assert "neu verbunden" in second.text
        assert len(sb.oauth().clients) == apps  # type: ignore[attr-defined]
        token2 = _stored(world, name)["access_token"]
        assert token2 != token1
        page = client.get(f"/accounts/{name}")
        gone = client.post(f"/accounts/{name}/disconnect", data={"csrf": csrf(page.text)})
        assert gone.status_code == 303
        assert "nicht verbunden" in client.get(f"/accounts/{name}").text
    assert not (world.secrets_dir / name / "rotated.json").exists()
    with world.live.db.session() as s:
        actions = [a.action for a in s.query(AuditEntry).filter_by(target=f"account:{name}")
                   .order_by(AuditEntry.id)]
        assert actions == ["account.connect", "account.reconnect", "account.disconnect"]
        details = json.dumps([a.details for a in s.query(AuditEntry)])
        assert token1 not in details and token2 not in details
        from episodes.models import Account, Post

        kept = s.query(Post).join(Account).filter(Account.name == name).count()
        assert kept == 3  # the season's posts for the account are all still there


def test_episode_page_with_an_account_still_to_connect(world: World):
    """A series that includes the Facebook account before it is connected (no page yet): the
    episode page still shows its text preview, measured by Facebook's limits."""
    from episodes import store
    from episodes.models import Series

    with world.live.db.session() as s:
        series = s.query(Series).one()
        series.accounts = [*series.accounts, NAMES["facebook"]]
        store.ensure_posts(s, series, store.sync_accounts(s, world.settings.accounts))
    with world.live.client("erika") as client:
        page = client.get(f"/episodes/{world.live.ids['ep1']}")
    assert page.status_code == 200
    assert f'data-testid="preview-{NAMES["facebook"]}"' in page.text
