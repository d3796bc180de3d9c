#!/usr/bin/env bash
# Reproduce the paper's pipeline for one profile and check it against expected_results/.
#   ./reproduce.sh                         default profile (the main job, < 60 min on 2 cores)
#   ./reproduce.sh --profile smoke         any profile in configs/ (smoke, default, dft-mini, paper)
#   ./reproduce.sh --out DIR               run folder (default results/<profile>/)
#   ./reproduce.sh --update-expected       rerun, then store this run as the new expected results
#   ./reproduce.sh test [pytest args]      install and run the fast test suite through tox
# Outside the container a .venv is created and the pinned package installed into it.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

PROFILE=default
OUT=""
UPDATE=0
MODE=run
if [ "${1:-}" = "test" ]; then MODE=test; shift; fi
if [ "$MODE" = run ]; then
  while [ $# -gt 0 ]; do
    case "$1" in
      --profile) PROFILE="$2"; shift 2 ;;
      --out) OUT="$2"; shift 2 ;;
      --update-expected) UPDATE=1; shift ;;
      -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "reproduce.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
    esac
  done
fi

if [ "$MODE" = test ] && [ "${PAPER_ARTIFACT_IN_CONTAINER:-0}" = 1 ]; then
  echo "reproduce.sh: the image has no test suite; run './reproduce.sh test' in a clone" >&2
  exit 64
fi

bootstrap() {
  if [ "${PAPER_ARTIFACT_IN_CONTAINER:-0}" = 1 ]; then PY=python3; return; fi
  local stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
  if [ ! -x .venv/bin/python ]; then
    echo "creating .venv (Python 3.11 required)" >&2
    python3 -m venv .venv
  fi
  if [ ! -e "$stamp" ]; then
    echo "installing the pinned package into .venv (a few minutes the first time)" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[test]" tox==4.67.13
    rm -f .venv/.installed-* && touch "$stamp"
  fi
  PY=.venv/bin/python
}

bootstrap
export MPLBACKEND=Agg

if [ "$MODE" = test ]; then
  exec "$PY" -m tox -e py,lint -- "$@"
fi

OUT=${OUT:-${PAPER_ARTIFACT_OUT:-results/$PROFILE}}
start=$(date +%s)
"$PY" -m paper_artifact run --profile "$PROFILE" --out "$OUT"
if [ "$UPDATE" = 1 ]; then
  "$PY" -m paper_artifact check --profile "$PROFILE" --out "$OUT" --update-expected
fi
"$PY" -m paper_artifact claims --profile "$PROFILE" --out "$OUT"
status=0
"$PY" -m paper_artifact check --profile "$PROFILE" --out "$OUT" || status=$?
# Profiles that ship DFT labels: recompute a seeded sample of them (--all in `labels verify`).
"$PY" -m paper_artifact labels verify --profile "$PROFILE" --out "$OUT" || status=$?
echo "reproduce.sh: profile $PROFILE finished in $(( $(date +%s) - start )) s, check exit code $status"
exit $status
