"""The Graph API classifier and usage-header parser, from tables (no network)."""

from __future__ import annotations

import json

import pytest

from workers.platforms.errors import (
    CredentialsExpired,
    PlatformUnavailable,
    QuotaExhausted,
    RateLimited,
    RejectedByPlatform,
)
from workers.platforms.graph import (
    LookupFailed,
    TransferWindow,
    UploadAgain,
    caption_with_marker,
    classify,
    read_only,
    usage_wait_seconds,
)

CLASSIFY = classify("facebook", "Facebook")


def _err(code: int, subcode: int | None = None, **extra: object) -> dict[str, object]:
    e: dict[str, object] = {"message": f"message {code}", "type": "OAuthException",
                            "code": code, "fbtrace_id": "AbC"}
    if subcode is not None:
        e["error_subcode"] = subcode
    e.update(extra)
    return {"error": e}


def _buc(minutes: int) -> dict[str, str]:
    return {"X-Business-Use-Case-Usage": json.dumps({"123": [{
        "type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 30,
        "estimated_time_to_regain_access": minutes}]})}


TABLE = [
    # status, body, headers, expected class, expected code
    (200, {"id": "1"}, {}, None, None),
    (400, _err(190, 463), {}, CredentialsExpired, 190),
    (400, _err(102), {}, CredentialsExpired, 102),
    (403, _err(200), {}, CredentialsExpired, 200),
    (400, _err(10), {}, CredentialsExpired, 10),
    (400, _err(4), _buc(7), RateLimited, 4),
    (400, _err(17), _buc(2), RateLimited, 17),
    (400, _err(32), _buc(60), RateLimited, 32),
    (400, _err(613), {}, RateLimited, 613),
    (400, _err(80001, 2446079), _buc(1), RateLimited, 80001),
    (429, "Too Many Requests", {"Retry-After": "30"}, RateLimited, None),
    (400, _err(4, 2207051), {}, RejectedByPlatform, 4),
    (400, _err(9, 2207042), {}, QuotaExhausted, 9),
    (400, _err(9007, 2207027), {}, PlatformUnavailable, 9007),
    (400, _err(-2, 2207020), {}, UploadAgain, -2),
    (400, _err(-1, 2207032), {}, UploadAgain, -1),
    (400, _err(-1, 2207053), {}, UploadAgain, -1),
    (400, _err(-1, 2207001), {}, PlatformUnavailable, -1),
    (500, _err(2, is_transient=True), {}, PlatformUnavailable, 2),
    (400, _err(1), {}, PlatformUnavailable, 1),
    (400, _err(506), {}, RejectedByPlatform, 506),
    (400, _err(100, 33), {}, RejectedByPlatform, 100),
    (400, _err(6000, 1363037, error_data={"start_offset": "10", "end_offset": "20"}), {},
     TransferWindow, 6000),
    (400, _err(6000, 1363037), {}, TransferWindow, 6000),
    (503, "<html>down</html>", {}, PlatformUnavailable, None),
    (404, "not json", {}, None, None),
]


@pytest.mark.parametrize(("status", "body", "headers", "expected", "code"), TABLE)
def test_classify_table(status, body, headers, expected, code) -> None:
    """Each Graph answer maps to the documented error class, keeps Meta's code, and explains
    itself in German."""
    error = CLASSIFY(status, body, headers)
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    assert error.code == code
    assert "acebook" in error.message_de  # names the platform for staff
    if isinstance(body, dict):
        assert str(body["error"]["message"]) in error.detail


def test_throttle_wait_comes_from_the_usage_header() -> None:
    """A throttled answer waits estimated_time_to_regain_access minutes, in seconds."""
    error = CLASSIFY(400, _err(32), _buc(7))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7 * 60
    assert "420 Sekunden" in error.message_de


def test_transfer_window_carries_the_server_offsets() -> None:
    """Subcode 1363037 tells the uploader which window the server wants next; without
    error_data the window is unknown (None) and the uploader asks the status."""
    error = CLASSIFY(400, _err(6000, 1363037, error_data={"start_offset": "10",
                                                          "end_offset": "20"}), {})
    assert isinstance(error, TransferWindow)
    assert (error.start_offset, error.end_offset) == (10, 20)
    bare = CLASSIFY(400, _err(6000, 1363037), {})
    assert isinstance(bare, TransferWindow) and bare.start_offset is bare.end_offset is None


def _rupload(type_: str, retriable: bool = False) -> dict[str, object]:
    return {"debug_info": {"retriable": retriable, "type": type_, "message": f"{type_} text"}}


@pytest.mark.parametrize(("status", "body", "expected"), [
    (503, _rupload("ServiceUnavailable", True), PlatformUnavailable),
    (400, _rupload("Busy", True), PlatformUnavailable),
    (500, _rupload("InternalError"), PlatformUnavailable),
    (400, _rupload("NotAuthorizedError"), CredentialsExpired),
    (400, _rupload("ParameterValidationError"), RejectedByPlatform),
    (404, _rupload("NotFound"), RejectedByPlatform),
])
def test_rupload_error_shape(status, body, expected) -> None:
    """The rupload host's own error shape (debug_info) classifies by retriable and type, with
    a German explanation naming the platform."""
    error = CLASSIFY(status, body, {})
    assert type(error) is expected
    assert "acebook" in error.message_de
    assert body["debug_info"]["type"] in error.detail


def test_read_only_lookups_fail_transiently() -> None:
    """A read-only lookup that fails with a rejection or an unreadable answer becomes
    LookupFailed (transient); transient errors and an expired token pass unchanged."""
    def raising(exc: Exception):
        def fn() -> None:
            raise exc
        return fn

    with pytest.raises(LookupFailed):
        read_only("facebook", "status", raising(RejectedByPlatform("facebook", "gone")))
    with pytest.raises(LookupFailed):
        read_only("facebook", "status", raising(KeyError("data")))
    with pytest.raises(PlatformUnavailable) as err:
        read_only("facebook", "status", raising(PlatformUnavailable("facebook", "500")))
    assert type(err.value) is PlatformUnavailable
    with pytest.raises(CredentialsExpired):
        read_only("facebook", "status", raising(CredentialsExpired("facebook", "190")))
    assert read_only("facebook", "status", lambda: 7) == 7


@pytest.mark.parametrize(("headers", "seconds"), [
    ({}, None),
    (_buc(3), 180.0),
    ({"x-business-use-case-usage": json.dumps({"1": [{"call_count": 10,
                                                      "estimated_time_to_regain_access": 0}]})},
     None),
    ({"X-App-Usage": json.dumps({"call_count": 100, "total_time": 5, "total_cputime": 5})},
     3600.0),
    ({"X-App-Usage": json.dumps({"call_count": 40, "total_time": 5, "total_cputime": 5})}, None),
    ({"Retry-After": "12"}, 12.0),
    ({"X-Business-Use-Case-Usage": "not json"}, None),
])
def test_usage_wait_seconds(headers, seconds) -> None:
    """The wait is read from Retry-After, the BUC header's minutes, or a usage header at 100 %."""
    assert usage_wait_seconds(headers) == seconds


def test_caption_with_marker_appends_missing_hashtags_and_marker_once() -> None:
    """The posted text ends with the marker; hashtags already in the body are not repeated."""
    text = caption_with_marker("Hallo #WirTunGUTes", ("#WirTunGUTes", "LUP"), "wtg-m1")
    assert text == "Hallo #WirTunGUTes\n\n#LUP\n\nwtg-m1"
    assert caption_with_marker(text, ("#LUP",), "wtg-m1") == text
