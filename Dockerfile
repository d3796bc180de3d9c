# Reproduction image for the paper artifact: `docker run IMAGE [reproduce.sh arguments]`.
# Build (no registry needed, see docs/container.md):
#   docker build --network=host --build-arg GIT_COMMIT="$(git rev-parse HEAD)" -t mg-gap-artifact .
# Debian bookworm ships Python 3.11, the version pyproject.toml requires.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Python runtime only: the wheels of quippy-ase, pyscf, numpy and scipy bundle their own gfortran,
# OpenBLAS and libgomp; libz and libgcc_s, which they link against too, are in the base image.
# DL3008 (pin apt versions): the bookworm release pins python3 to 3.11; exact Debian revisions
# change with security updates and would make old pins uninstallable.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:${PATH} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /opt/paper-artifact

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
# Space-separated optional-dependency extras of pyproject.toml to install too (e.g. "test").
ARG PIP_EXTRAS=""
# docker/constraints.txt pins the transitive dependencies too (see docs/container.md to refresh it).
COPY pyproject.toml ./
COPY docker/requirements_from_pyproject.py docker/constraints.txt docker/
# PIP_EXTRAS is left unquoted on purpose: one extra per word.
RUN python3 -m venv "${VIRTUAL_ENV}" \
 && python docker/requirements_from_pyproject.py pyproject.toml ${PIP_EXTRAS} \
      > /tmp/requirements.txt \
 && pip install setuptools==84.2.1 wheel==0.48.0 \
 && pip install -r /tmp/requirements.txt -c docker/constraints.txt \
 && rm /tmp/requirements.txt

COPY README.md LICENSE reproduce.sh claims.yaml ./
COPY paper_artifact/ paper_artifact/
COPY configs/ configs/
COPY expected_results/ expected_results/
COPY data/ data/
COPY docker/check_runtime.py docker/
# Editable, as in tox: the package finds configs/, data/ and expected_results/ next to itself.
# The dependencies are already installed (and pinned) above; build with the pinned setuptools.
RUN pip install --no-deps --no-build-isolation --editable . \
 && rm -rf build

# Non-root user; the code stays owned by root (read-only), results go to the /out volume.
RUN useradd --create-home --uid 1000 --user-group artifact \
 && mkdir -p /out \
 && chown artifact:artifact /out
VOLUME ["/out"]

# Inside the image reproduce.sh uses this environment instead of creating a venv, and writes to
# /out when no --out is given. One OpenMP/BLAS thread by default
# (raise it with `docker run -e OMP_NUM_THREADS=N`).
ENV PAPER_ARTIFACT_IN_CONTAINER=1 \
    PAPER_ARTIFACT_OUT=/out \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1

# Numeric, so that `docker run` and Kubernetes can tell that the user is not root.
USER 1000:1000
# Fail the build early if gap_fit/quippy, PySCF or dscribe do not work for the non-root user.
RUN python docker/check_runtime.py

# Declared last: a new commit changes only these metadata layers, not the cached ones above.
ARG VERSION=0.1.0
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="mg-gap-artifact" \
      org.opencontainers.image.description="Reproduction of Steshin et al., PCCP 2025 (GAP, Mg clusters)" \
      org.opencontainers.image.licenses="BSD-3-Clause" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}"
# The image has no .git: the run manifest takes the commit from here.
ENV PAPER_ARTIFACT_GIT_COMMIT=${GIT_COMMIT}

ENTRYPOINT ["./reproduce.sh"]
CMD ["--profile", "smoke", "--out", "/out"]
