"""Command line entry point: ``python -m ghsim --port 9100 --seed 1``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile

from aiohttp import web

from .server import build_app
from .state import State
from .util import parse_iso
from .world import World


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ghsim", description="Deterministic GitHub simulator"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9100, help="0 picks a free port (printed on stdout)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--users", type=int, default=12, help="number of named world users")
    p.add_argument(
        "--data-dir", default=None, help="where git repositories are built (default: temp dir)"
    )
    p.add_argument(
        "--now",
        default=None,
        help="anchor date of the world (ISO), default: first day of this month",
    )
    p.add_argument(
        "--public-url", default=None, help="base URL clients use (default http://HOST:PORT)"
    )
    p.add_argument("--rate-limit", type=int, default=5000)
    p.add_argument("--rate-window", type=float, default=3600)
    p.add_argument("--unauth-limit", type=int, default=60)
    p.add_argument("--primary-status", type=int, default=403)
    p.add_argument("--restrict-stargazers", action="store_true")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    port = sock.getsockname()[1]
    public = (args.public_url or f"http://{args.host}:{port}").rstrip("/")
    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = tempfile.mkdtemp(prefix="ghsim-")
        data_dir = tmp
    os.makedirs(data_dir, exist_ok=True)
    now = parse_iso(args.now) if args.now else None
    world = World(seed=args.seed, users=args.users, now=now, web_url=public, data_dir=data_dir)
    state = State(
        {
            "rate_limit": args.rate_limit,
            "rate_window": args.rate_window,
            "unauth_limit": args.unauth_limit,
            "primary_status": args.primary_status,
            "restrict_stargazers": args.restrict_stargazers,
        }
    )
    app = build_app(world, state)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    print(f"ghsim listening on {public} port={port} seed={args.seed}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
