"""Pinned floating-point code paths: the same numbers on any x86-64 CPU with AVX2.

OpenBLAS (numpy's copy and quippy's) chooses its kernels by CPU model when it is loaded, and numpy
chooses SIMD loops (exp, log) by CPU features. Other kernels round differently, and gap_fit's CUR
choice of sparse points is sensitive to that: the same training file gave another GAP in the
container than on the host (same CPU, another OpenBLAS kernel), whose global minima lay up to
0.06 eV lower or higher. Pinning both to the AVX2 (Haswell, x86-64-v3) code paths makes runs
bit-identical between machines and the container. Both libraries read these variables when they
load, so `pin_environment` runs on `import paper_artifact`, before numpy is imported; a value the
user set is kept. Child processes (gap_fit, Parsl workers) inherit them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import MutableMapping
from pathlib import Path

HASWELL_FLAGS = frozenset({"avx2", "fma"})
X86_V4_FLAGS = frozenset({"avx512f", "avx512cd", "avx512vl", "avx512bw", "avx512dq"})
PINNED_VARIABLES = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is not readable, e.g. macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def pinned_values(flags: frozenset[str]) -> dict[str, str]:
    """The variables that select AVX2 code paths on a CPU with these flags."""
    values = {}
    if HASWELL_FLAGS <= flags:
        values["OPENBLAS_CORETYPE"] = "Haswell"
    if X86_V4_FLAGS <= flags:
        values["NPY_DISABLE_CPU_FEATURES"] = "X86_V4"
    return values


def pin_environment(
    environ: MutableMapping[str, str] = os.environ, flags: frozenset[str] | None = None
) -> dict[str, str]:
    """Set the pinned variables that are not set yet; returns those it set."""
    wanted = pinned_values(cpu_flags() if flags is None else flags)
    added = {name: value for name, value in wanted.items() if name not in environ}
    environ.update(added)
    return added


@functools.cache
def effective_numerics() -> dict:
    """What this process runs: the variables, the kernels of the OpenBLAS copies that numpy, scipy
    and quippy load (imported here so that the list does not depend on what ran before) and
    whether numpy uses its AVX512 loops. The last two decide the numbers; the variables are how
    they were chosen (a CPU without AVX512 needs no numpy variable for the same loops)."""
    import numpy  # noqa: F401
    import quippy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    kernels = sorted(
        {
            f"{Path(lib['filepath']).name}:{lib.get('architecture')}"
            for lib in threadpool_info()
            if lib.get("internal_api") == "openblas"
        }
    )
    from numpy._core._multiarray_umath import __cpu_features__

    return {
        "variables": {name: os.environ.get(name) for name in PINNED_VARIABLES},
        "openblas_kernels": kernels,
        "numpy_x86_v4_loops": bool(__cpu_features__.get("X86_V4", False)),
        "pinned": pinned_values(cpu_flags()),
    }
