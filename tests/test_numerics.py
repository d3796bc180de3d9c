import json
import os
import subprocess
import sys

import pytest

from paper_artifact.check import numerics_notes
from paper_artifact.numerics import cpu_flags, pin_environment, pinned_values

AVX512 = frozenset({"avx2", "fma", "avx512f", "avx512cd", "avx512vl", "avx512bw", "avx512dq"})


def test_pinned_values_follow_the_cpu():
    assert pinned_values(AVX512) == {
        "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4",
    }
    assert pinned_values(frozenset({"avx2", "fma"})) == {"OPENBLAS_CORETYPE": "Haswell"}
    # Forcing Haswell kernels on a CPU without AVX2 would crash OpenBLAS: nothing is pinned.
    assert pinned_values(frozenset({"sse2", "avx"})) == {}


def test_pin_keeps_what_the_user_set():
    environ = {"OPENBLAS_CORETYPE": "SkylakeX"}
    added = pin_environment(environ, AVX512)
    assert environ["OPENBLAS_CORETYPE"] == "SkylakeX"
    assert added == {"NPY_DISABLE_CPU_FEATURES": "X86_V4"}


def test_cpu_flags_of_a_missing_file_are_empty(tmp_path):
    assert cpu_flags(tmp_path / "cpuinfo") == frozenset()


@pytest.mark.skipif(not {"avx2", "fma"} <= cpu_flags(), reason="needs an x86-64 CPU with AVX2")
def test_a_fresh_process_runs_the_pinned_kernels():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")
    }
    code = (
        "import json, paper_artifact; from paper_artifact.numerics import effective_numerics; "
        "print(json.dumps(effective_numerics()))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    numerics = json.loads(out.stdout)
    kernels = numerics["openblas_kernels"]
    assert kernels and all(k.endswith(":Haswell") for k in kernels)


def _numerics(kernel="Haswell", numpy="2.4.6", avx512_loops=False):
    return {
        "numerics": {
            "variables": {"OPENBLAS_CORETYPE": kernel, "NPY_DISABLE_CPU_FEATURES": "X86_V4"},
            "openblas_kernels": [f"libopenblas.so:{kernel}"],
            "numpy_x86_v4_loops": avx512_loops,
        },
        "packages": {"numpy": numpy, "quippy-ase": "0.10.3"},
    }


def test_same_numerics_give_no_note():
    assert numerics_notes(_numerics(), _numerics()) == []
    assert numerics_notes(None, _numerics()) == []


def test_other_kernels_or_versions_are_named():
    other = _numerics(kernel="SkylakeX", numpy="2.3.0", avx512_loops=True)
    (note,) = numerics_notes(_numerics(), other)
    assert "['libopenblas.so:Haswell'] -> ['libopenblas.so:SkylakeX']" in note
    assert "numpy AVX512 loops False -> True" in note
    assert "numpy 2.4.6 -> 2.3.0" in note
    assert "sparse points" in note


def test_a_cpu_without_avx512_needs_no_numpy_variable():
    # Same kernels and loops, only the variable that chose them is absent: no note.
    avx2_only = _numerics()
    avx2_only["numerics"]["variables"]["NPY_DISABLE_CPU_FEATURES"] = None
    assert numerics_notes(_numerics(), avx2_only) == []
