"""The batch command's tests share the batch library tests' fixtures; the commands' file tests share
a one-thread network and a runner of ``dpst`` with the module's ``FAST`` flags."""

import signal

import pytest
import torch

from dpst.cli import main
from tests.batch.conftest import album, fast, weights  # noqa: F401
from tests.segment.conftest import standin, tiny_parsers  # noqa: F401, E402


@pytest.fixture(scope="module")
def one_thread():
    """A tiny network gains nothing from threads, and on a busy machine they cost seconds a run."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def run(request, capsys, tiny_weights_file):
    """``run(*argv) -> (exit code, stderr)``: ``dpst`` with argv, then the module's ``FAST`` flags and
    the tiny weights."""

    def go(*argv) -> tuple[int, str]:
        code = main([str(a) for a in (*argv, *request.module.FAST, "--weights", tiny_weights_file)])
        return code, capsys.readouterr().err

    return go


def sigint_default() -> None:
    """``preexec_fn`` of a child process a test interrupts: SIGINT back to its default.  A shell's
    background job (``nohup CMD &``) passes SIGINT on ignored, and Python then never raises
    KeyboardInterrupt, so the interrupt tests would fail wherever the suite runs in the background."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
