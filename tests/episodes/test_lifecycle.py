"""The post state machine, from a table of the moves that must and must not be possible."""

from __future__ import annotations

import pytest

from episodes.lifecycle import (
    DONE,
    IN_FLIGHT,
    LABEL_DE,
    TRANSITIONS,
    PostState,
    can_move,
    sources_of,
)

S = PostState

ALLOWED = [
    (S.PENDING, S.PREPARING), (S.PENDING, S.READY), (S.PREPARING, S.READY),
    (S.READY, S.QUEUED), (S.QUEUED, S.UPLOADING), (S.UPLOADING, S.PROCESSING),
    (S.PROCESSING, S.PUBLISHING), (S.PUBLISHING, S.PUBLISHED), (S.QUEUED, S.PUBLISHING),
    (S.PUBLISHING, S.UNCONFIRMED), (S.UNCONFIRMED, S.PUBLISHED), (S.UNCONFIRMED, S.PUBLISHING),
    (S.PUBLISHING, S.SCHEDULED), (S.SCHEDULED, S.PUBLISHED),
    (S.UPLOADING, S.QUEUED),  # transient error: back in the queue, nothing public yet
    (S.QUEUED, S.FAILED), (S.PUBLISHING, S.NEEDS_ATTENTION),
    (S.FAILED, S.QUEUED), (S.NEEDS_ATTENTION, S.QUEUED),  # staff: retry
    (S.READY, S.MISSED), (S.MISSED, S.QUEUED), (S.MISSED, S.SKIPPED),
    (S.PENDING, S.CANCELLED), (S.READY, S.CANCELLED), (S.CANCELLED, S.PENDING),
    (S.READY, S.PENDING),  # media changed: prepare again
    (S.PUBLISHED, S.WITHDRAWING), (S.WITHDRAWING, S.WITHDRAWN),  # an approved withdrawal
    (S.WITHDRAWING, S.WITHDRAW_ATTENTION), (S.WITHDRAW_ATTENTION, S.WITHDRAWN),
]

FORBIDDEN = [
    # nothing skips the publishing step (state written before the irreversible call)
    (S.PENDING, S.PUBLISHED), (S.READY, S.PUBLISHED), (S.QUEUED, S.PUBLISHED),
    (S.PENDING, S.PUBLISHING), (S.READY, S.PUBLISHING), (S.FAILED, S.PUBLISHED),
    (S.MISSED, S.PUBLISHED), (S.CANCELLED, S.QUEUED),
    # an unknown outcome is reconciled, never simply retried (never post twice)
    (S.PUBLISHING, S.QUEUED), (S.PUBLISHING, S.READY), (S.PUBLISHING, S.PENDING),
    (S.UNCONFIRMED, S.READY),
    # in flight: a worker owns it; no cancelling under its feet
    (S.UPLOADING, S.CANCELLED), (S.PUBLISHING, S.CANCELLED), (S.PROCESSING, S.PENDING),
    # published is final (but for a withdrawal)
    (S.PUBLISHED, S.PENDING), (S.PUBLISHED, S.QUEUED), (S.PUBLISHED, S.FAILED),
    (S.PUBLISHED, S.CANCELLED), (S.SCHEDULED, S.QUEUED), (S.SCHEDULED, S.PENDING),
    (S.PUBLISHED, S.WITHDRAWN),  # never marked deleted without the delete step
    # withdrawn is final: a deleted post never comes back (nor is published again)
    (S.WITHDRAWN, S.QUEUED), (S.WITHDRAWN, S.PUBLISHED), (S.WITHDRAWING, S.QUEUED),
]


@pytest.mark.parametrize(("src", "dst"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed_moves(src: PostState, dst: PostState):
    """Each move of the normal path, of retries and of staff decisions is allowed."""
    assert can_move(src, dst)
    assert src in sources_of(dst)


@pytest.mark.parametrize(("src", "dst"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_forbidden_moves(src: PostState, dst: PostState):
    """Each move that could post twice, skip a step or undo a publication is refused."""
    assert not can_move(src, dst)
    assert src not in sources_of(dst)


def test_every_state_has_transitions_and_a_german_label():
    """The table covers every state, and staff see a German label for each."""
    assert set(TRANSITIONS) == set(PostState)
    assert set(LABEL_DE) == set(PostState)
    assert all(LABEL_DE[s] and LABEL_DE[s] != str(s) for s in PostState)


def test_no_state_moves_to_itself_and_published_is_final():
    """No self-loops (a CAS must change the state); published has no way out but a withdrawal,
    and withdrawn none at all."""
    assert all(s not in targets for s, targets in TRANSITIONS.items())
    assert TRANSITIONS[S.PUBLISHED] == frozenset({S.WITHDRAWING})
    assert TRANSITIONS[S.WITHDRAWN] == frozenset()


def test_only_states_that_asked_the_platform_lead_to_done():
    """published/scheduled are only reachable from states in which the platform was called."""
    for done in DONE:
        assert sources_of(done) <= {S.PROCESSING, S.PUBLISHING, S.FINISHING, S.UNCONFIRMED,
                                 S.SCHEDULED}


def test_every_state_but_published_can_still_reach_published():
    """No dead ends: from any state (staff included) the post can still go out -- except once a
    withdrawal was approved: a withdrawn post never goes out again."""
    gone = {S.PUBLISHED, S.WITHDRAWING, S.WITHDRAW_ATTENTION, S.WITHDRAWN}
    for start in set(PostState) - gone:
        seen, todo = {start}, [start]
        while todo:
            for nxt in TRANSITIONS[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert start == S.PUBLISHED or S.PUBLISHED in seen, start


def test_in_flight_states_never_fall_back_to_pending():
    """A post a worker holds cannot silently return to pending."""
    assert all(S.PENDING not in TRANSITIONS[s] for s in IN_FLIGHT)
