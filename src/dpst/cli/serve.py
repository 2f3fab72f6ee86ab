"""``dpst serve [--host H] [--port P]``: the local web app (:mod:`dpst.web`, the ``dpst[web]`` extra).

It listens on 127.0.0.1 unless told otherwise, makes no share link, and sends nothing anywhere:
Gradio's analytics are turned off before Gradio is imported.  Ctrl-C stops it (exit 0) and deletes
the files of every session.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import time
from collections.abc import Sequence

from ..config import Config
from ..errors import MissingExtra
from .common import ArgumentParser

# Gradio reads these when it is imported: no telemetry, no "new version" lookup, nothing fetched;
# a closed tab is noticed within 5 s (Gradio's default: 15), and its files deleted then.
OFFLINE_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "GRADIO_HEARTBEAT_INTERVAL": "5",
}


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="dpst serve",
        description="A web page to restyle photos: upload a pair, correct the masks with a brush, "
        "run with a progress bar, compare and download. Nothing leaves this machine.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|mps (default: %(default)s)")
    p.add_argument("--weights", default="", help="VGG-19 weights file (else $DPST_WEIGHTS, else embedded)")
    return p


def run_serve(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port}: use 1-65535")
    if importlib.util.find_spec("gradio") is None:
        raise MissingExtra("web", "dpst serve")
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    config = Config(device=args.device, weights=args.weights)
    from ..web.app import shutdown, start

    try:
        demo = start(args.host, args.port, config)
    except OSError as exc:  # Gradio: "Cannot find empty port in range ..."
        raise ValueError(
            f"--port {args.port}: cannot listen on {args.host}:{args.port} ({type(exc).__name__}; is the "
            "port in use?); pick another with --port"
        ) from None
    # `kill` stops it like Ctrl-C does, so that the sessions' files are deleted
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"dpst: serving on http://{args.host}:{args.port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        while demo.is_running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        shutdown(demo)
    print("dpst: stopped; the sessions' files are deleted", file=sys.stderr)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
