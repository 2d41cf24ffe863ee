#!/usr/bin/env bash
# The systemd units in infra/systemd, as `cmake --install` lays them out: installed into a scratch
# root next to copies of the machine's own units, then checked by `systemd-analyze verify` (unit
# syntax, dependencies, and that every ExecStart names an installed executable). Every service
# in services/ must have a unit. Usage: systemd_units_test.sh BUILD_DIR
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (Debian's systemd)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "${root}"' EXIT

cmake --install "${build_dir}" --prefix "${root}/usr/local" >/dev/null
# verify resolves the units' dependencies (multi-user.target, network-online.target) in the root.
mkdir -p "${root}/usr/lib/systemd"
cp -r /usr/lib/systemd/system "${root}/usr/lib/systemd/"

units_dir=${root}/usr/local/lib/systemd/system
units=()
for service_dir in "${source_dir}"/services/*/; do
  unit=kiln-$(basename "${service_dir}").service
  [[ -f ${units_dir}/${unit} ]] || { echo "no systemd unit ${unit} for ${service_dir}" >&2; exit 1; }
  [[ -x ${root}/usr/local/bin/kiln-$(basename "${service_dir}") ]] ||
    { echo "cmake --install did not install kiln-$(basename "${service_dir}")" >&2; exit 1; }
  units+=("${unit}")
done
[[ -d ${root}/usr/local/share/kiln/migrations ]] || { echo "migrations not installed" >&2; exit 1; }

if ! output=$(systemd-analyze verify --root="${root}" "${units[@]}" 2>&1) || [[ -n ${output} ]]; then
  echo "systemd-analyze verify: ${output}" >&2
  exit 1
fi
echo "${#units[@]} units verified: ${units[*]}"
