#!/usr/bin/env bash
# Webhook received → pushed digest, p50 over N runs, for the demo's sample project, against the
# same build and push done by hand in the same run (buildah bud + buildah push oci: + skopeo copy,
# same storage driver, isolation and layer cache). Each run commits a change, so the COPY step and
# everything after it rebuild, as for a real push. Prints numbers, asserts nothing.
#   bench/e2e_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "${1:-${REPO_ROOT}/build}" && pwd)
RUNS=${2:-20}

export KILN_HOME=$(mktemp -d /tmp/kiln-e2e-bench.XXXXXX)
chmod 755 "${KILN_HOME}"  # PostgreSQL runs as the postgres user and must reach its data
export KILN_NATS_PORT=34222 KILN_NATS_MONITOR_PORT=0 KILN_PG_PORT=35432 KILN_REGISTRY_PORT=35000
export KILN_ANALYTICS_PORT=38081 KILN_SCHEDULER_PORT=38082 KILN_BUILDER_PORT=38083
export KILN_PUSHER_PORT=38084 KILN_WEBHOOK_INGEST_PORT=38080 KILN_BUILD_DIR=${BUILD_DIR}
export DEMO_WEBHOOK_SECRET=bench-secret KILN_TOKEN=kiln-demo-admin-token
export KILN_API_URL=http://127.0.0.1:${KILN_WEBHOOK_INGEST_PORT}
export KILN_QUERY_URL=http://127.0.0.1:${KILN_ANALYTICS_PORT}
KILN=${BUILD_DIR}/cli/kiln

cleanup() {
  bash "${REPO_ROOT}/infra/services.sh" stop >/dev/null 2>&1 || true
  bash "${REPO_ROOT}/infra/stack.sh" stop >/dev/null 2>&1 || true
  rm -rf "${KILN_HOME}"
}
trap cleanup EXIT

bash "${REPO_ROOT}/infra/stack.sh" start >/dev/null 2>&1
eval "$(bash "${REPO_ROOT}/infra/stack.sh" env)"
bash "${REPO_ROOT}/infra/services.sh" start >/dev/null 2>&1

repo=${KILN_HOME}/repo
mkdir -p "${repo}"
git -C "${repo}" init -q -b main
git -C "${repo}" config user.email bench@kiln.local
git -C "${repo}" config user.name bench
sed "s|127.0.0.1:5000|${KILN_REGISTRY}|" "${REPO_ROOT}/infra/demo/Dockerfile" >"${repo}/Dockerfile"
cp "${REPO_ROOT}/infra/demo/app.sh" "${repo}/app.sh"
git -C "${repo}" add -A && git -C "${repo}" commit -q -m initial
cat >"${KILN_HOME}/project.json" <<JSON
{"name":"bench","repository_url":"file://${repo}","repository_name":"bench/app",
 "webhook_secret_ref":"env:DEMO_WEBHOOK_SECRET","registry":"${KILN_REGISTRY}",
 "image_repository":"bench/app","build_args":{"GREETING":"bench"}}
JSON
"${KILN}" project apply "${KILN_HOME}/project.json" >/dev/null

now_ms() { date +%s%3N; }
change() { echo "$1" >"${repo}/app.sh.txt"; sed -i "2s/.*/echo run $1/" "${repo}/app.sh" 2>/dev/null || true
  printf '#!/bin/sh\ncat /app/greeting.txt\necho run %s\n' "$1" >"${repo}/app.sh"
  git -C "${repo}" add -A && git -C "${repo}" commit -q -m "run $1"; }

kiln_run() {
  local sha payload signature start id status
  sha=$(git -C "${repo}" rev-parse HEAD)
  payload=$(jq -cn --arg sha "${sha}" --arg url "file://${repo}" '{ref:"refs/heads/main",
    before:"0000000000000000000000000000000000000000",after:$sha,deleted:false,
    repository:{full_name:"bench/app",clone_url:$url,default_branch:"main"},pusher:{name:"bench"},
    head_commit:{id:$sha,message:"bench",author:{name:"bench"}},commits:[{id:$sha,added:["app.sh"],modified:[],removed:[]}]}')
  signature=$(printf '%s' "${payload}" | openssl dgst -sha256 -hmac "${DEMO_WEBHOOK_SECRET}" -r | cut -d' ' -f1)
  start=$(now_ms)
  id=$(curl -sS -X POST "${KILN_API_URL}/hooks/github" -H "X-GitHub-Event: push" \
    -H "X-GitHub-Delivery: $(cat /proc/sys/kernel/random/uuid)" \
    -H "X-Hub-Signature-256: sha256=${signature}" --data-binary "${payload}" | jq -r .build_id)
  # Poll the pipeline's own record of the end (the `succeeded` event): the log, not the projection.
  until status=$(curl -sS -H "Authorization: Bearer ${KILN_TOKEN}" "${KILN_QUERY_URL}/v1/builds/${id}" | jq -r .status) &&
        [[ ${status} == succeeded || ${status} == failed || ${status} == cancelled ]]; do
    sleep 0.05
  done
  [[ ${status} == succeeded ]] || { echo "kiln build ${id} ${status}" >&2; exit 1; }
  echo $(( $(now_ms) - start ))
}

peer_root=${KILN_HOME}/peer-buildah
peer_run() {
  local start work=${KILN_HOME}/peer-work layout=${KILN_HOME}/peer-layout
  start=$(now_ms)
  rm -rf "${work}" "${layout}"
  git clone -q "file://${repo}" "${work}"
  buildah --root "${peer_root}/root" --runroot "${peer_root}/run" --storage-driver vfs \
    pull --tls-verify=false "${KILN_REGISTRY}/kiln/busybox" >/dev/null
  unshare --net buildah --root "${peer_root}/root" --runroot "${peer_root}/run" --storage-driver vfs \
    bud --isolation chroot --layers --pull-never --build-arg GREETING=bench \
    --iidfile "${KILN_HOME}/iid" -f "${work}/Dockerfile" "${work}" >/dev/null 2>&1
  buildah --root "${peer_root}/root" --runroot "${peer_root}/run" --storage-driver vfs \
    push "$(cat "${KILN_HOME}/iid")" "oci:${layout}:latest" >/dev/null 2>&1
  skopeo copy -q --dest-tls-verify=false "oci:${layout}:latest" \
    "docker://${KILN_REGISTRY}/bench/peer:latest" >/dev/null
  echo $(( $(now_ms) - start ))
}

p50() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm both layer caches once (the base image pull and the unchanged steps).
change warmup; kiln_run >/dev/null; peer_run >/dev/null
kiln_times=() peer_times=()
for i in $(seq 1 "${RUNS}"); do
  change "${i}"
  kiln_times+=("$(kiln_run)")
  peer_times+=("$(peer_run)")
done
kiln_p50=$(printf '%s\n' "${kiln_times[@]}" | p50)
peer_p50=$(printf '%s\n' "${peer_times[@]}" | p50)
echo "webhook received -> pushed digest, ${RUNS} runs each, interleaved"
echo "  kiln (webhook, scheduler, builder, pusher)  p50 ${kiln_p50} ms   all: ${kiln_times[*]}"
echo "  by hand (buildah bud + push oci + skopeo)   p50 ${peer_p50} ms   all: ${peer_times[*]}"
echo "  kiln overhead p50: $(( kiln_p50 - peer_p50 )) ms (ratio $(awk -v a="${kiln_p50}" -v b="${peer_p50}" 'BEGIN{printf "%.2f", a/b}'))"
