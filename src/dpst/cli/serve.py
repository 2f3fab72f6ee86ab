"""``dpst serve [--host H] [--port P] [login] [limits]``: the web app (:mod:`dpst.web`, the ``dpst[web]``
extra).

It listens on 127.0.0.1 unless told otherwise, makes no share link, and sends nothing anywhere:
Gradio's analytics are turned off before Gradio is imported.  On any other address it needs a login
(``--auth-file``, ``$DPST_AUTH`` or ``--auth``) or ``--no-auth``, else it exits 2 before it binds
anything (:mod:`dpst.web.access`).  The limits of a shared server are flags made from
:class:`dpst.web.limits.Limits`.  Ctrl-C (or SIGTERM) stops it (exit 0) and deletes the files of
every session.
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
from ..web.access import ENV, check_access, gather_logins, is_loopback
from ..web.limits import Limits
from .common import ArgumentParser, add_settings_arguments, settings_from_args

# Gradio reads these when it is imported: no telemetry, no "new version" lookup, nothing fetched;
# a closed tab is noticed within 5 s (Gradio's default: 15), and its files deleted then.
OFFLINE_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "GRADIO_HEARTBEAT_INTERVAL": "5",
}
# oneDNN (torch's CPU kernels) keeps the kernels it made for every image size it met, 1024 of them:
# a server meeting photos of new sizes grows by MBs a run until that fills.  256 holds a run's few
# dozen; measured in docs/web.md ("Under load").  Read by oneDNN when it makes its first kernel.
MEMORY_ENV = {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "256"}


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
    login = p.add_argument_group(
        "login", f"needed on any --host but loopback; from --auth, --auth-file and ${ENV} (USER:PASSWORD "
        "lines) together"
    )  # fmt: skip
    login.add_argument(
        "--auth-file", metavar="FILE", help="a file of USER:PASSWORD lines (# comments): the way to give them"
    )  # fmt: skip
    login.add_argument(
        "--auth", action="append", default=[], metavar="USER:PASSWORD",
        help="a login (repeatable); it shows in the process list, so prefer --auth-file or $" + ENV,
    )  # fmt: skip
    login.add_argument(
        "--no-auth", action="store_true", help="no login on a --host that is not loopback: anyone who can "
        "reach it can use it",
    )  # fmt: skip
    add_settings_arguments(p, Limits)
    return p


def run_serve(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port}: use 1-65535")
    limits = Limits(**settings_from_args(args, Limits))
    logins = gather_logins(args.auth, args.auth_file, os.environ.get(ENV))
    check_access(args.host, logins, args.no_auth)  # before anything is bound
    if importlib.util.find_spec("gradio") is None:
        raise MissingExtra("web", "dpst serve")
    for key, value in {**OFFLINE_ENV, **MEMORY_ENV}.items():
        os.environ.setdefault(key, value)
    config = Config(device=args.device, weights=args.weights)
    from ..web.app import shutdown, start

    if args.no_auth and not is_loopback(args.host):
        print(f"dpst: warning: no login on {args.host}: anyone who can reach it can use it", file=sys.stderr)
    # `kill` stops it like Ctrl-C does, so that the sessions' files are deleted.  The server answers
    # before `start` returns, so a stop asked for then is only noted until `demo` exists and can be
    # shut down: otherwise SIGTERM would kill it with its files left behind.  Noted by a handler, not
    # held by a signal mask: a mask holds the signal for this thread only, and the kernel may hand
    # it to another one (torch's, the server's), whose stop Python then raises here all the same.
    asked: list[int] = []

    def note(signum: int, frame: object) -> None:
        asked.append(signum)

    on_int = signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)
    try:
        demo = start(args.host, args.port, config, limits, logins)
    except OSError as exc:  # Gradio: "Cannot find empty port in range ..."
        raise ValueError(
            f"--port {args.port}: cannot listen on {args.host}:{args.port} ({type(exc).__name__}; is "
            "the port in use?); pick another with --port"
        ) from None
    finally:
        signal.signal(signal.SIGINT, on_int)
        signal.signal(signal.SIGTERM, _interrupt)
    who = f"login required, {len(logins)} user{'s' if len(logins) != 1 else ''}" if logins else "no login"
    url = f"http://{args.host}:{args.port}"
    try:
        if asked:  # a stop asked for while the server started
            raise KeyboardInterrupt
        print(f"dpst: serving on {url} ({who}; Ctrl-C to stop)", file=sys.stderr, flush=True)
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
