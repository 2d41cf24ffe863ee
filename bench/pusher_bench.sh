#!/usr/bin/env bash
# Pusher benchmark: one OCI layout (buildah, LAYERS random-data layers of LAYER_MB each) pushed in
# the same run by kiln's registry client (`kiln push-layout`, the code the pusher service runs)
# and by skopeo, each to a fresh local docker-registry:
#   (a) cold push, (b) re-push of the unchanged image, (c) push to a new repository of the same
#   registry (kiln with --mount-from; skopeo as it does by default),
# plus the ceiling: the same blobs uploaded to a fresh registry by plain parallel libcurl POST+PUT
# (bench/pusher_upload_ceiling: no digest work, no HEADs), so throughput can be read as a
# fraction of what the registry takes.
# Prints times and ratios; asserts nothing.
#
#   bench/pusher_bench.sh [BUILD_DIR]     env: LAYERS (12), LAYER_MB (20), PARALLEL (4),
#                                         LAYOUT (an existing layout to use instead)
set -euo pipefail

build_dir=${1:-build}
cd "$(dirname "$0")/.."
kiln=$(realpath "${build_dir}/cli/kiln")
layers=${LAYERS:-12}
layer_mb=${LAYER_MB:-20}
parallel=${PARALLEL:-4}

for tool in buildah skopeo docker-registry curl; do
  command -v "${tool}" >/dev/null || { echo "pusher_bench: ${tool} not installed; skipped"; exit 0; }
done
ceiling_tool=$(realpath "${build_dir}/bench/pusher_upload_ceiling")
for binary in "${kiln}" "${ceiling_tool}"; do
  [[ -x ${binary} ]] || { echo "pusher_bench: ${binary} not built; skipped"; exit 0; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-pusher-bench.XXXXXX")
registry_pids=()
cleanup() {
  for pid in "${registry_pids[@]}"; do
    kill "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done
  rm -rf "${work}"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

free_port() {
  local port
  while true; do
    port=$(( 20000 + RANDOM % 40000 ))
    ss -ltn "sport = :${port}" | grep -q LISTEN || { echo "${port}"; return; }
  done
}

# Starts a fresh docker-registry (own storage) and sets registry_host to its host:port. Runs in
# this shell (never inside $(...)), so its pid is recorded for cleanup.
start_registry() {
  local name=$1 port dir
  port=$(free_port)
  dir="${work}/registry-${name}"
  mkdir -p "${dir}/data"
  cat >"${dir}/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: "${dir}/data"
http:
  addr: 127.0.0.1:${port}
  secret: kiln-bench-${RANDOM}${RANDOM}
EOF
  docker-registry serve "${dir}/config.yml" >"${dir}/log" 2>&1 &
  registry_pids+=($!)
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:${port}/v2/"; then
      registry_host="127.0.0.1:${port}"
      return
    fi
    sleep 0.1
  done
  echo "registry ${name} did not start:" >&2
  cat "${dir}/log" >&2
  exit 1
}

# --- the layout: one layer per commit, so the image has ${layers} layers -----------------------
if [[ -n ${LAYOUT:-} ]]; then  # reuse a layout made by an earlier run (tag "latest")
  layout=$(realpath "${LAYOUT}")
else
  layout="${work}/layout"
  echo "making an OCI layout: ${layers} layers x ${layer_mb} MB of random data (buildah, vfs)..."
  b=(buildah --root "${work}/buildah/root" --runroot "${work}/buildah/run" --storage-driver vfs)
  mkdir -p "${work}/data"
  from=scratch
  for i in $(seq 1 "${layers}"); do
    head -c "${layer_mb}M" /dev/urandom >"${work}/data/layer${i}.bin"
    container=$("${b[@]}" from "${from}")
    "${b[@]}" copy "${container}" "${work}/data/layer${i}.bin" "/layer${i}.bin" >/dev/null
    "${b[@]}" commit -q "${container}" "kiln-bench-${i}" >/dev/null
    "${b[@]}" rm "${container}" >/dev/null
    rm "${work}/data/layer${i}.bin"
    from="kiln-bench-${i}"
  done
  "${b[@]}" push -q "kiln-bench-${layers}" "oci:${layout}:latest"
  rm -rf "${work}/buildah"  # the layout is all the benchmark needs
fi
blob_count=$(find "${layout}/blobs/sha256" -type f | wc -l)
blob_bytes=$(du -cb "${layout}"/blobs/sha256/* | tail -n1 | cut -f1)
mb=$(awk -v b="${blob_bytes}" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "layout: ${blob_count} blobs, ${mb} MB"

# --- kiln and skopeo, each against its own fresh registry -------------------------------------
kiln_push() {  # HOST REPO [extra args]
  local host=$1 repo=$2
  shift 2
  "${kiln}" push-layout "${layout}" "${host}/${repo}:v1" --insecure --parallel "${parallel}" \
    "$@" >/dev/null 2>"${work}/kiln.err" || { cat "${work}/kiln.err" >&2; exit 1; }
}
skopeo_push() {  # HOST REPO
  skopeo copy -q --dest-tls-verify=false "oci:${layout}:latest" "docker://$1/$2:v1" >/dev/null
}
timed() {  # prints the milliseconds the command took
  local t0 t1
  t0=$(now_ms)
  "$@"
  t1=$(now_ms)
  echo $(( t1 - t0 ))
}

# --- the ceiling: plain parallel POST + PUT of the same blobs, no digest work -----------------
# bench/pusher_upload_ceiling: PARALLEL threads, one keep-alive libcurl handle each (the curl
# command line costs ~0.1 s per process here, which would make the ceiling lower than kiln).
# Measured before and after the pushes, each time into a fresh registry; the faster run counts,
# so a busy moment of the machine does not lower the ceiling.
ceiling_run() {  # sets ceiling_ms
  local out
  start_registry "ceiling$1"
  sync
  out=$("${ceiling_tool}" "${registry_host}" bench/ceiling "${parallel}" "${layout}"/blobs/sha256/*)
  ceiling_ms=${out#* }
}

median3() {  # the median of three runs of a command that prints a number
  local a b c
  a=$("$@")
  b=$("$@")
  c=$("$@")
  printf '%s\n' "${a}" "${b}" "${c}" | sort -n | sed -n 2p
}

start_registry kiln
kiln_host=${registry_host}
start_registry skopeo
skopeo_host=${registry_host}
echo "pushing (kiln --parallel ${parallel}; skopeo defaults)..."
ceiling_run 1
ceiling_before=${ceiling_ms}
sync
kiln_cold=$(timed kiln_push "${kiln_host}" bench/app)
sync
skopeo_cold=$(timed skopeo_push "${skopeo_host}" bench/app)
sync
kiln_again=$(median3 timed kiln_push "${kiln_host}" bench/app)
skopeo_again=$(median3 timed skopeo_push "${skopeo_host}" bench/app)
kiln_mount=$(timed kiln_push "${kiln_host}" bench/app2 --mount-from bench/app)
skopeo_mount=$(timed skopeo_push "${skopeo_host}" bench/app2)
ceiling_run 2
ceiling_after=${ceiling_ms}
ceiling=$(( ceiling_before < ceiling_after ? ceiling_before : ceiling_after ))

# --- report -----------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 1; printf "%.2fx", a / b }'; }
rate() { awk -v b="${blob_bytes}" -v ms="$1" 'BEGIN { if (ms <= 0) ms = 1; printf "%.0f", b / 1048576 / (ms / 1000) }'; }
echo
echo "pusher benchmark: ${layers} layers, ${mb} MB, parallel ${parallel}, docker-registry on loopback"
printf '%-36s %10s %10s %14s\n' "case" "kiln ms" "skopeo ms" "skopeo/kiln"
printf '%-36s %10s %10s %14s\n' "(a) cold push" "${kiln_cold}" "${skopeo_cold}" \
  "$(ratio "${skopeo_cold}" "${kiln_cold}")"
printf '%-36s %10s %10s %14s\n' "(b) re-push unchanged (median of 3)" "${kiln_again}" \
  "${skopeo_again}" \
  "$(ratio "${skopeo_again}" "${kiln_again}")"
printf '%-36s %10s %10s %14s\n' "(c) new repository (mount)" "${kiln_mount}" "${skopeo_mount}" \
  "$(ratio "${skopeo_mount}" "${kiln_mount}")"
echo
echo "ceiling (plain libcurl POST+PUT, ${parallel} connections): ${ceiling} ms, $(rate "${ceiling}") MB/s" \
  "(runs: ${ceiling_before} ms before, ${ceiling_after} ms after the pushes)"
echo "kiln cold:   $(rate "${kiln_cold}") MB/s = $(awk -v c="${ceiling}" -v k="${kiln_cold}" \
  'BEGIN { printf "%.0f", 100 * c / k }')% of the ceiling"
echo "skopeo cold: $(rate "${skopeo_cold}") MB/s = $(awk -v c="${ceiling}" -v k="${skopeo_cold}" \
  'BEGIN { printf "%.0f", 100 * c / k }')% of the ceiling"
