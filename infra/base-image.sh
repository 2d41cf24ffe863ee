#!/usr/bin/env bash
# Builds kiln's base image from Debian's busybox-static with buildah, without any network, and
# pushes it to REGISTRY_HOST as kiln/busybox:latest so that Dockerfiles can say
# `FROM REGISTRY_HOST/kiln/busybox`. No Docker Hub is reachable from kiln's machines, so this is
# the image every test and demo build starts from.
#
# buildah uses a storage root of kiln's own (vfs driver), never the machine's default storage.
# Idempotent: when the registry already serves the manifest, nothing is built or pushed; when
# the image is already in the local storage (made from the same busybox binary), it is only
# pushed. Safe to run concurrently on the same storage root (serialised by a lock file).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly REPOSITORY=kiln/busybox
readonly TAG=latest
readonly LOCAL_IMAGE=localhost/${REPOSITORY}:${TAG}
readonly BUSYBOX=${KILN_BUSYBOX:-/bin/busybox}
readonly BUSYBOX_LABEL=dev.kiln.busybox.sha256
# Every manifest media type a registry may answer with for kiln/busybox:latest.
readonly MANIFEST_ACCEPT=(
  -H 'Accept: application/vnd.oci.image.manifest.v1+json'
  -H 'Accept: application/vnd.oci.image.index.v1+json'
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'
  -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json'
)

usage() {
  cat <<EOF
Usage: infra/base-image.sh [--force] [--no-verify] REGISTRY_HOST [STORAGE_ROOT]

Builds ${REPOSITORY}:${TAG} from ${BUSYBOX} (Debian's busybox-static) and pushes it over plain
HTTP to REGISTRY_HOST (for example 127.0.0.1:5000). STORAGE_ROOT is buildah's storage
(default \${KILN_HOME:-<repo>/.kiln}/buildah; uses STORAGE_ROOT/root and STORAGE_ROOT/run).

  --force      build and push even if the registry already has the image
  --no-verify  skip the check that \`FROM REGISTRY_HOST/${REPOSITORY}\` + RUN builds after a push
EOF
}

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

force=false
verify=true
positional=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --force) force=true ;;
    --no-verify) verify=false ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) positional+=("$1") ;;
  esac
  shift
done
((${#positional[@]} >= 1 && ${#positional[@]} <= 2)) || { usage >&2; exit 2; }

readonly REGISTRY=${positional[0]}
readonly STORAGE_ROOT=${positional[1]:-${KILN_HOME:-${REPO_ROOT}/.kiln}/buildah}
readonly REMOTE_IMAGE=${REGISTRY}/${REPOSITORY}:${TAG}

command -v buildah >/dev/null || die "buildah not found (run infra/install.sh)"
command -v curl >/dev/null || die "curl not found (run infra/install.sh)"
[[ -x ${BUSYBOX} ]] || die "${BUSYBOX} not found (apt-get install busybox-static)"
# A dynamically linked busybox (Debian's "busybox" package) would not run in an image without libc.
if ldd "${BUSYBOX}" >/dev/null 2>&1; then
  die "${BUSYBOX} is dynamically linked; install busybox-static instead of busybox"
fi

mkdir -p "${STORAGE_ROOT}"
bah() {
  buildah --root "${STORAGE_ROOT}/root" --runroot "${STORAGE_ROOT}/run" --storage-driver vfs "$@"
}

registry_has_image() {
  curl -fsS -o /dev/null --head --max-time 10 "${MANIFEST_ACCEPT[@]}" \
    "http://${REGISTRY}/v2/${REPOSITORY}/manifests/${TAG}" 2>/dev/null
}

# Writes a minimal root filesystem into $1: the static busybox as /bin/busybox, a symlink for
# every applet at the path busybox itself reports, and the few files programs expect.
make_rootfs() {
  local rootfs=$1 applet
  mkdir -p "${rootfs}"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,var/tmp,tmp,proc,sys,dev}
  chmod 1777 "${rootfs}/tmp" "${rootfs}/var/tmp"
  chmod 0700 "${rootfs}/root"
  install -m 0755 "${BUSYBOX}" "${rootfs}/bin/busybox"
  while read -r applet; do
    [[ ${applet} == bin/busybox ]] || ln -sf /bin/busybox "${rootfs}/${applet}"
  done < <("${BUSYBOX}" --list-full)
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"${rootfs}/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"${rootfs}/etc/group"
}

local_image_is_current() {
  local label
  label=$(bah inspect --type image --format "{{index .OCIv1.Config.Labels \"${BUSYBOX_LABEL}\"}}" \
    "${LOCAL_IMAGE}" 2>/dev/null) || return 1
  [[ ${label} == "${busybox_sha}" ]]
}

build_local_image() {
  local rootfs=${work_dir}/rootfs container version
  make_rootfs "${rootfs}"
  version=$("${BUSYBOX}" 2>&1 | head -n1 || true)
  container=$(bah from --quiet scratch)
  bah copy --quiet "${container}" "${rootfs}" / >/dev/null
  bah config \
    --cmd sh \
    --env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    --label "org.opencontainers.image.title=${REPOSITORY}" \
    --label "org.opencontainers.image.description=kiln base image: ${version}" \
    --label "${BUSYBOX_LABEL}=${busybox_sha}" \
    --created-by "kiln infra/base-image.sh" \
    "${container}"
  # A fixed timestamp makes the image (and so its digest) the same on every machine.
  bah commit --quiet --rm --timestamp 0 "${container}" "${LOCAL_IMAGE}" >/dev/null
}

# Proves the pushed image is usable the way builds use it: pulled by buildah from the registry,
# with a RUN step executed inside it (chroot isolation, as the builder runs it).
verify_pushed_image() {
  local context=${work_dir}/context
  mkdir -p "${context}"
  log "verifying: buildah bud FROM ${REGISTRY}/${REPOSITORY} with a RUN step"
  bah bud --quiet --isolation chroot --tls-verify=false --pull-always \
    --iidfile "${work_dir}/iid" -f - "${context}" >"${work_dir}/bud.log" 2>&1 <<EOF ||
FROM ${REGISTRY}/${REPOSITORY}
RUN echo hi > /x && test "\$(cat /x)" = hi && ls /bin/sh >/dev/null
EOF
    { cat "${work_dir}/bud.log" >&2; die "a build FROM ${REMOTE_IMAGE} failed"; }
  bah rmi "$(cat "${work_dir}/iid")" >/dev/null 2>&1 || true
}

main() {
  if ! ${force} && registry_has_image; then
    log "${REMOTE_IMAGE} already in the registry"
    echo "${REMOTE_IMAGE}"
    return
  fi

  work_dir=$(mktemp -d "${TMPDIR:-/tmp}/kiln-base-image.XXXXXX")
  trap 'rm -rf "${work_dir}"' EXIT
  busybox_sha=$(sha256sum "${BUSYBOX}" | cut -d' ' -f1)

  # Serialise builders sharing this storage root (parallel test processes).
  exec {lock_fd}>"${STORAGE_ROOT}/base-image.lock"
  flock "${lock_fd}"

  if ${force} || ! local_image_is_current; then
    log "building ${LOCAL_IMAGE} from ${BUSYBOX}"
    build_local_image
  fi
  log "pushing to ${REMOTE_IMAGE}"
  bah push --quiet --tls-verify=false --digestfile "${work_dir}/digest" \
    "${LOCAL_IMAGE}" "docker://${REMOTE_IMAGE}" >"${work_dir}/push.log" 2>&1 ||
    { cat "${work_dir}/push.log" >&2; die "push to ${REMOTE_IMAGE} failed"; }
  if ${verify}; then
    verify_pushed_image
  fi
  log "pushed ${REMOTE_IMAGE}@$(cat "${work_dir}/digest")"
  echo "${REMOTE_IMAGE}"
}

main
