"""Ctrl-C, for real: SIGINT to a ``dpst`` subprocess inside each phase.

What each phase writes (docs and ``dpst.cli.stylize``): before stage 1 there is no result, so nothing;
from stage 1 on, the current result at the output size.  The exit code is always 130.  The run's
``--verbose`` phase lines aim the signal; a wrapper holds the named phase open (a sleep at its start,
standing for work that takes long) so the signal lands inside it and not after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.cli.conftest import sigint_default
from tests.conftest import save_photo

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = textwrap.dedent(
    """
    import sys, time
    from contextlib import contextmanager
    from dpst.neural.run import Clock

    phase, real = sys.argv[1], Clock.phase

    @contextmanager
    def held(self, name):
        with real(self, name):
            if name == phase:
                time.sleep(60)
            yield

    Clock.phase = held
    from dpst.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)
WRITES = {"prepare": False, "targets": False, "stage1": True, "laplacian": True, "stage2": True}
WRITES |= {"upsample": True, "filter": True}


@pytest.mark.parametrize("phase", list(WRITES))
def test_sigint_in_each_phase(tmp_path, tiny_weights_file, phase):
    c, s = save_photo(tmp_path / "c.png", 48, 64, 0), save_photo(tmp_path / "s.png", 40, 40, 1)
    out = tmp_path / "out.png"
    script = tmp_path / "wrapper.py"
    script.write_text(WRAPPER)
    argv = [str(c), str(s), "-o", str(out), "--size", "48", "--stage1-size", "32", "--iterations", "2"]
    argv += ["--output-size", "80", "--masks", "none", "-q", "--verbose", "--weights", str(tiny_weights_file)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, str(script), phase, *argv],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=sigint_default,
    )
    seen, deadline = [], time.monotonic() + 60
    for line in proc.stderr:
        seen.append(line.strip())
        if line.strip() == f"dpst: phase {phase}":
            time.sleep(0.3)  # inside the held phase
            proc.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, seen
    rest = proc.stderr.read()
    code = proc.wait(timeout=60)
    assert f"dpst: phase {phase}" in seen, seen
    assert code == 130, (seen, rest)
    assert "Traceback" not in rest, rest
    assert out.exists() == WRITES[phase], (phase, rest)
    if WRITES[phase]:
        assert Image.open(out).size == (80, 60)  # the output size asked for
        assert "wrote the current result" in rest
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no half-written file
