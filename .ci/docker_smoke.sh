#!/usr/bin/env bash
# Build the container image and run the smoke profile inside it; exit with reproduce.sh's exit code.
# Needs root (it starts the private Docker engine of ../shared/tools/docker-sandbox.sh, a sibling
# of the repository). Usage: bash .ci/docker_smoke.sh [OUT_DIR]   (default: results/docker-smoke)
# Environment: IMAGE (default mg-gap-artifact), PROFILE (default smoke),
#              DOCKER_SANDBOX (default ../shared/tools/docker-sandbox.sh).
set -euo pipefail
trap 'rc=$?; echo "${0##*/}: command failed at line $LINENO (exit $rc)" >&2' ERR
cd "$(dirname "$(readlink -f "$0")")/.."

IMAGE=${IMAGE:-mg-gap-artifact}
PROFILE=${PROFILE:-smoke}
SANDBOX=${DOCKER_SANDBOX:-../shared/tools/docker-sandbox.sh}
OUT=$(readlink -m "${1:-results/docker-smoke}")

if [ ! -f "$SANDBOX" ]; then
  echo "docker_smoke.sh: $SANDBOX not found (set DOCKER_SANDBOX)" >&2
  exit 2
fi
if [ "$OUT" = / ] || [ "$OUT" = "$PWD" ]; then
  echo "docker_smoke.sh: refusing to use $OUT as the output folder" >&2
  exit 2
fi
seconds() { date +%s; }

t0=$(seconds)
bash "$SANDBOX" start
trap 'bash "$SANDBOX" stop' EXIT
eval "$(bash "$SANDBOX" env)"
t_engine=$(( $(seconds) - t0 ))

commit=$(git rev-parse --verify --quiet HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  commit="$commit-dirty"
fi
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' pyproject.toml | head -n 1)
t0=$(seconds)
docker build --network=host \
  --build-arg GIT_COMMIT="$commit" --build-arg VERSION="${version:-unknown}" \
  -t "$IMAGE" .
t_build=$(( $(seconds) - t0 ))
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")

# The image runs as uid 1000; CI runs as root, so the output folder is opened to every user.
rm -rf "$OUT"
mkdir -p "$OUT"
chmod 0777 "$OUT"
t0=$(seconds)
status=0
docker run --rm --network=host -v "$OUT:/out" "$IMAGE" --profile "$PROFILE" --out /out || status=$?
t_run=$(( $(seconds) - t0 ))

echo "docker_smoke.sh: engine start ${t_engine} s, build ${t_build} s," \
  "image $(( size / 1000000 )) MB, ${PROFILE} run ${t_run} s, exit code ${status};" \
  "outputs in ${OUT}"
exit "$status"
