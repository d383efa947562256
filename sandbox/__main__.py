"""Run one platform's sandbox as its own process.

    python -m sandbox serve youtube --port 8701

Prints two lines on stdout and then serves until SIGINT/SIGTERM:

    SANDBOX_URL http://127.0.0.1:8701
    {"account": {...Account fields...}, "secrets": {...}}

The second line is the account pointed at this server and the secrets it accepts (for the demo
and for benchmarks that drive an adapter from another process).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from . import sandboxes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve one platform's sandbox until interrupted")
    serve.add_argument("platform", help="one of: " + ", ".join(sorted(sandboxes())))
    serve.add_argument("--port", type=int, default=0, help="0: a free port")
    serve.add_argument("--account", default=None, help="account name (default: the sandbox's)")
    serve.add_argument("--reading", action="append", default=[], metavar="POINT=READING",
                       help="where the documents are ambiguous: which reading to serve "
                            "(repeatable; the sandbox's READINGS lists them)")
    args = parser.parse_args(argv)

    classes = sandboxes()
    if args.platform not in classes:
        parser.error(f"unknown platform {args.platform!r}; known: {', '.join(sorted(classes))}")
    sb = classes[args.platform](port=args.port)  # type: ignore[call-arg]
    try:
        sb.configure(dict(item.split("=", 1) for item in args.reading))
    except ValueError as exc:
        parser.error(str(exc))
    sb.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        make_account = sb.account  # type: ignore[attr-defined]
        account, secrets = make_account(args.account) if args.account else make_account()
        print(f"SANDBOX_URL {sb.url}", flush=True)
        print(json.dumps({"account": _jsonable(dataclasses.asdict(account)),
                          "secrets": secrets}), flush=True)
        stop.wait()
    finally:
        sb.stop()
    return 0


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


if __name__ == "__main__":
    sys.exit(main())
