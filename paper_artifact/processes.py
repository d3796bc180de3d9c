"""Child processes that die with the run, even when it is killed with kill -9 (Linux).

`python -m paper_artifact.processes -m MODULE ARGS...` runs MODULE with that guarantee: the Parsl
interchange is started this way, so that its workers, which stop when their interchange is gone,
follow it (heartbeat_threshold in executor.py).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies; kept across exec."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


if __name__ == "__main__":
    die_with_parent()
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
