"""The staff controls through the JSON API with the same permissions as the pages: German
``detail`` in every refusal, 403 for a missing role or one's own edit, 409 where the state
forbids the change; tasks go to the real (private) broker."""

from __future__ import annotations

import json
from typing import Any

import redis

from episodes import store
from episodes.lifecycle import PostState
from episodes.models import Post, Series

from .conftest import Live

S = PostState


def move(live: Live, post_id: int, *states: PostState, **fields: Any) -> None:
    """Walk a post through ``states`` as the workers would (compare-and-set each step)."""
    with live.db.session() as s:
        for i, target in enumerate(states):
            extra = fields if i == len(states) - 1 else {}
            assert store.transition(s, post_id, target, **extra), (post_id, target)


def refused_text(live: Live, post_id: int) -> None:
    move(live, post_id, S.READY, S.QUEUED, S.UPLOADING, S.PROCESSING, S.PUBLISHING,
         S.UNCONFIRMED, S.NEEDS_ATTENTION,
         last_error={"kind": "rejected", "message_de": "Mastodon hat den Beitrag abgelehnt: "
                     "Text character limit of 120 exceeded."})
    with live.db.session() as s:
        s.get(Post, post_id).remote = {"media_id": "1", "publish_started": "2026-11-06"}


def published(live: Live, post_id: int) -> None:
    move(live, post_id, S.READY, S.QUEUED, S.UPLOADING, S.PROCESSING, S.PUBLISHING,
         S.PUBLISHED, public_url="https://mastodon.example/@lup/1")
    with live.db.session() as s:
        s.get(Post, post_id).remote = {"status_id": "1", "online": True}


def tasks(live: Live) -> list[tuple[str, list[Any]]]:
    queue = redis.Redis.from_url(live.settings.broker_url).lrange("publish", 0, -1)
    return [(json.loads(m)["headers"]["task"], json.loads(m)["headers"]["argsrepr"])
            for m in queue]


def test_pause_and_resume_need_an_editor_and_say_so_in_german(live: Live) -> None:
    """An editor pauses and resumes the series; a viewer is refused (403, German); an unknown
    series is 404."""
    with live.api("vera") as api:
        denied = api.post("/api/v1/series/wtg-2026/pause")
        assert denied.status_code == 403 and "Bearbeiten" in denied.json()["detail"]
    with live.api("erika") as api:
        paused = api.post("/api/v1/series/wtg-2026/pause")
        assert paused.status_code == 200 and paused.json()["paused"] is True
        assert "pausiert" in paused.json()["message_de"]
        again = api.post("/api/v1/series/wtg-2026/pause")
        assert "bereits pausiert" in again.json()["message_de"]
        assert api.post("/api/v1/series/wtg-2026/resume").json()["paused"] is False
        assert api.post("/api/v1/series/gibt-es-nicht/pause").status_code == 404
    with live.db.session() as s:
        assert s.query(Series).one().paused is False
        actions = [e.action for e in store.audit_log(s)]
    assert actions[:2] == ["series.resume", "series.pause"]


def test_publish_now_hold_skip_and_cancel_respect_the_state(live: Live) -> None:
    """Publish now refuses an episode that is not ready (409, German reason); skip and cancel
    move waiting posts; a published post cannot be cancelled (409)."""
    with live.api("erika") as api:
        ep = live.ids["ep2"]
        now = api.post(f"/api/v1/episodes/{ep}/publish-now")
        assert now.status_code == 409 and "nicht freigegeben" in now.json()["detail"]
        skipped = api.post(f"/api/v1/episodes/{ep}/skip")
        assert skipped.status_code == 200 and len(skipped.json()["post_ids"]) == 2
        assert api.post(f"/api/v1/episodes/{ep}/skip").status_code == 409
        cancelled = api.post(f"/api/v1/episodes/{ep}/cancel")
        assert cancelled.status_code == 200 and "abgesagt" in cancelled.json()["message_de"]
        published(live, live.ids["post1-mastodon"])
        gone = api.post(f"/api/v1/posts/{live.ids['post1-mastodon']}/cancel")
        assert gone.status_code == 409 and "zurückgezogen" in gone.json()["detail"]
        ok = api.post(f"/api/v1/posts/{live.ids['post1-youtube']}/cancel")
        assert ok.status_code == 200 and ok.json()["state"] == "cancelled"
        held = api.post(f"/api/v1/episodes/{live.ids['ep0']}/hold")
        assert held.status_code == 200 and "rückt nach" in held.json()["message_de"]


def test_approval_is_refused_while_a_preview_shows_a_problem_unless_an_admin_says_why(
    live: Live
) -> None:
    """A hyphenated hashtag blocks the approval (409, German, naming it); an approver cannot
    override; an admin can, only with a reason, and the override is audited."""
    ep = live.ids["ep1"]
    with live.api("erika") as api:
        rev = api.patch(f"/api/v1/episodes/{ep}", json={"hashtags": ["Plau-am-See"]}).json()[
            "revision"]
    with live.api("anton") as api:
        blocked = api.post(f"/api/v1/episodes/{ep}/approve", json={"revision": rev})
        assert blocked.status_code == 409 and "#Plau-am-See" in blocked.json()["detail"]
        forced = api.post(f"/api/v1/episodes/{ep}/approve",
                          json={"revision": rev, "override_reason": "Bitte trotzdem senden."})
        assert forced.status_code == 403 and "Verwaltung" in forced.json()["detail"]
    with live.api("ada") as api:
        short = api.post(f"/api/v1/episodes/{ep}/approve",
                         json={"revision": rev, "override_reason": "ok"})
        assert short.status_code == 409 and "begründen" in short.json()["detail"]
        done = api.post(f"/api/v1/episodes/{ep}/approve", json={
            "revision": rev, "override_reason": "Hashtag ist so gewollt (Ortsname)."})
        assert done.status_code == 200 and done.json()["approved"] is True
    with live.db.session() as s:
        entry = store.audit_log(s, target=f"episode:{ep}")[0]
        assert entry.action == "episode.approve_override"
        assert entry.details["reason"] == "Hashtag ist so gewollt (Ortsname)."


def test_correcting_a_refused_post_needs_four_eyes_before_the_retry(live: Live) -> None:
    """PATCH /posts/{id} is refused for a post that is not waiting for staff (409); on a
    refused post it sets the post's own text and voids its approval; the corrector cannot
    approve it, a second person can, and only then the retry goes to the publish queue."""
    ep, pid = live.ids["ep1"], live.ids["post1-mastodon"]
    with live.api("anton") as api:
        rev = api.get(f"/api/v1/episodes/{ep}").json()["revision"]
        assert api.post(f"/api/v1/episodes/{ep}/approve", json={"revision": rev}).json()[
            "approved"]
    with live.api("erika") as api:
        early = api.patch(f"/api/v1/posts/{pid}", json={"body": "Kurz."})
        assert early.status_code == 409 and "korrigieren geht nur" in early.json()["detail"]
        refused_text(live, pid)
        fixed = api.patch(f"/api/v1/posts/{pid}", json={"body": "Kurz und gut. #WirTunGUTes"})
        assert fixed.status_code == 200, fixed.text
        body = fixed.json()
        assert body["text_override"] == {"body": "Kurz und gut. #WirTunGUTes"}
        assert (body["correction"], body["cleared"]) == (1, False)
        blocked = api.post(f"/api/v1/posts/{pid}/retry")
        assert blocked.status_code == 409 and "nicht freigegeben" in blocked.json()["detail"]
    with live.api("anton") as api:
        stale = api.post(f"/api/v1/posts/{pid}/approve-correction", json={"correction": 2})
        assert stale.status_code == 409
        mine = api.patch(f"/api/v1/posts/{pid}", json={"title": "Von Anton"})
        assert mine.json()["correction"] == 2
        own = api.post(f"/api/v1/posts/{pid}/approve-correction", json={"correction": 2})
        assert own.status_code == 403 and "seit der letzten Freigabe" in own.json()["detail"]
    with live.api("ada") as api:
        ok = api.post(f"/api/v1/posts/{pid}/approve-correction", json={"correction": 2})
        assert ok.status_code == 200 and ok.json()["cleared"] is True
        retried = api.post(f"/api/v1/posts/{pid}/retry")
        assert retried.status_code == 200 and retried.json()["state"] == "queued"
    assert ("wtg.publish.run", [pid]) in [(n, json.loads(a.replace("(", "[").replace(
        ",)", "]").replace(")", "]"))) for n, a in tasks(live)]
    with live.api("vera") as api:
        shown = api.get(f"/api/v1/posts/{pid}/correction").json()
        assert shown["correction_approved_by"] == "ada" and shown["preview_problems"] == []


def test_withdrawal_needs_a_reason_and_a_second_person(live: Live) -> None:
    """POST /episodes/{id}/withdraw asks (201) with a reason of at least 10 characters; the
    requester cannot approve it (403); another approver can, which starts the delete task for
    the published post and cancels the one that never went out."""
    ep, out, waiting = live.ids["ep1"], live.ids["post1-mastodon"], live.ids["post1-youtube"]
    with live.api("ada") as api:
        nothing = api.post(f"/api/v1/episodes/{ep}/withdraw", json={"reason": "Einwilligung weg"})
        assert nothing.status_code == 409 and "keiner Plattform" in nothing.json()["detail"]
    published(live, out)
    with live.api("ada") as api:
        short = api.post(f"/api/v1/episodes/{ep}/withdraw", json={"reason": "weg"})
        assert short.status_code == 409 and "Grund" in short.json()["detail"]
        asked = api.post(f"/api/v1/episodes/{ep}/withdraw",
                         json={"reason": "Die Ehrenamtliche hat ihre Einwilligung widerrufen."})
        assert asked.status_code == 201 and asked.json()["state"] == "requested"
        wid = asked.json()["id"]
        own = api.post(f"/api/v1/withdrawals/{wid}/approve")
        assert own.status_code == 403 and "Vier-Augen" in own.json()["detail"]
    with live.api("erika") as api:
        assert api.post(f"/api/v1/withdrawals/{wid}/approve").status_code == 403
    with live.api("anton") as api:
        done = api.post(f"/api/v1/withdrawals/{wid}/approve")
        assert done.status_code == 200, done.text
        assert (done.json()["deleting"], done.json()["cancelled"]) == ([out], [waiting])
        assert api.post(f"/api/v1/withdrawals/{wid}/approve").status_code == 409
        assert api.get(f"/api/v1/posts/{out}").json()["state"] == "withdrawing"
        listed = api.get(f"/api/v1/episodes/{ep}/withdrawals").json()
        assert [w["decided_by"] for w in listed] == ["anton"]
    assert ("wtg.publish.withdraw", f"[{out}]") in tasks(live)


def test_attention_lists_each_problem_with_its_fix(live: Live) -> None:
    """GET /series/{slug}/attention names the refused post with the fix "repair" and the
    missed one with "send_now", in German."""
    refused_text(live, live.ids["post1-mastodon"])
    move(live, live.ids["post2-youtube"], S.MISSED)
    with live.api("vera") as api:
        items = api.get("/api/v1/series/wtg-2026/attention").json()
    by_post = {i["post_id"]: i for i in items if i["kind"] == "post"}
    assert by_post[live.ids["post1-mastodon"]]["fix"] == "repair"
    assert "abgelehnt" in by_post[live.ids["post1-mastodon"]]["reason_de"]
    assert by_post[live.ids["post2-youtube"]]["fix"] == "send_now"


def test_a_post_deleted_by_hand_is_confirmed_once(live: Live) -> None:
    """A post Instagram cannot delete through its API waits in withdraw_attention with the fix
    "confirm_by_hand"; confirming marks it withdrawn (audited), a second confirm is 409."""
    pid = live.ids["post1-mastodon"]
    published(live, pid)
    move(live, pid, S.WITHDRAWING, S.WITHDRAW_ATTENTION, last_error={
        "kind": "delete_by_hand", "message_de": "Instagram bietet keine Schnittstelle zum "
        "Löschen von Beiträgen an. Bitte den Beitrag in der Instagram-App löschen."})
    with live.api("vera") as api:
        items = api.get("/api/v1/series/wtg-2026/attention").json()
        assert [i["fix"] for i in items if i["post_id"] == pid] == ["confirm_by_hand"]
        assert api.post(f"/api/v1/posts/{pid}/withdraw/confirm").status_code == 403
    with live.api("erika") as api:
        done = api.post(f"/api/v1/posts/{pid}/withdraw/confirm")
        assert done.status_code == 200 and done.json()["state"] == "withdrawn"
        again = api.post(f"/api/v1/posts/{pid}/withdraw/confirm")
        assert again.status_code == 409 and "wartet nicht" in again.json()["detail"]
    with live.db.session() as s:
        assert store.audit_log(s, target=f"post:{pid}")[0].action == \
            "post.withdraw_confirmed_by_hand"
