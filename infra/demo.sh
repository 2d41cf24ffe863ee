#!/usr/bin/env bash
# kiln's demo, the README's first command (via `make demo`): starts the local stack and the five
# services, creates a sample Git repository and project, sends a signed GitHub push webhook exactly
# as GitHub would, follows the build live, and ends with the pushed image's URL and digest, shown
# in the registry by skopeo. The stack keeps running afterwards; `make stop` stops everything.
# Running it again adds a commit to the sample repository and builds that.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
# kiln's own node first, where infra/install.sh had to install one (infra/node.sh).
export PATH=${KILN_NODE_PREFIX:-/opt/kiln/node}/bin:${PATH}
export KILN_HOME=${KILN_HOME:-${REPO_ROOT}/.kiln}
readonly KILN=${REPO_ROOT}/build/cli/kiln
readonly DEMO_DIR=${KILN_HOME}/demo
readonly DEMO_REPO=${DEMO_DIR}/repo
export DEMO_WEBHOOK_SECRET=${DEMO_WEBHOOK_SECRET:-kiln-demo-webhook-secret}
export KILN_TOKEN=${KILN_TOKEN:-kiln-demo-admin-token}
readonly INGEST_URL=http://127.0.0.1:${KILN_WEBHOOK_INGEST_PORT:-8080}
readonly QUERY_URL=http://127.0.0.1:${KILN_ANALYTICS_PORT:-8081}
export KILN_API_URL=${INGEST_URL} KILN_QUERY_URL=${QUERY_URL}

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

say "Starting the local stack (nats-server, PostgreSQL, docker-registry) in ${KILN_HOME}"
bash "${REPO_ROOT}/infra/stack.sh" start
eval "$(bash "${REPO_ROOT}/infra/stack.sh" env)"

say "Starting kiln's services"
bash "${REPO_ROOT}/infra/services.sh" start

say "Preparing the sample repository ${DEMO_REPO}"
mkdir -p "${DEMO_REPO}"
if [[ ! -d ${DEMO_REPO}/.git ]]; then
  git -C "${DEMO_REPO}" init -q -b main
  git -C "${DEMO_REPO}" config user.email demo@kiln.local
  git -C "${DEMO_REPO}" config user.name "kiln demo"
fi
sed "s|127.0.0.1:5000|${KILN_REGISTRY}|" "${REPO_ROOT}/infra/demo/Dockerfile" >"${DEMO_REPO}/Dockerfile"
cp "${REPO_ROOT}/infra/demo/app.sh" "${DEMO_REPO}/app.sh"
date -u +%FT%TZ >"${DEMO_REPO}/built-at.txt"
git -C "${DEMO_REPO}" add -A
git -C "${DEMO_REPO}" commit -q -m "demo change at $(date -u +%T)"
readonly BEFORE=$(git -C "${DEMO_REPO}" rev-parse HEAD~1 2>/dev/null || echo 0000000000000000000000000000000000000000)
readonly AFTER=$(git -C "${DEMO_REPO}" rev-parse HEAD)

say "Applying the sample project (kiln project apply)"
cat >"${DEMO_DIR}/project.yaml" <<YAML
name: demo
repository_url: file://${DEMO_REPO}
repository_name: kiln-demo/demo
default_branch: main
webhook_secret_ref: env:DEMO_WEBHOOK_SECRET
registry: ${KILN_REGISTRY}
image_repository: kiln/demo
build_args:
  GREETING: "hello, platform team"
branch_filters: ["main", "release/*"]
YAML
"${KILN}" project apply "${DEMO_DIR}/project.yaml"

say "Sending a signed GitHub push webhook for ${AFTER:0:7}"
delivery=$(cat /proc/sys/kernel/random/uuid)
payload=$(jq -cn --arg before "${BEFORE}" --arg after "${AFTER}" --arg url "file://${DEMO_REPO}" \
  --arg msg "$(git -C "${DEMO_REPO}" log -1 --format=%s)" '{
    ref: "refs/heads/main", before: $before, after: $after, created: false, deleted: false,
    repository: {full_name: "kiln-demo/demo", name: "demo", clone_url: $url, html_url: $url,
                 default_branch: "main"},
    pusher: {name: "demo-user", email: "demo@kiln.local"}, sender: {login: "demo-user"},
    head_commit: {id: $after, message: $msg, author: {name: "kiln demo", email: "demo@kiln.local"},
                  added: ["built-at.txt"], modified: ["Dockerfile"], removed: []},
    commits: [{id: $after, message: $msg, author: {name: "kiln demo"},
               added: ["built-at.txt"], modified: ["Dockerfile"], removed: []}]}')
signature=$(printf '%s' "${payload}" | openssl dgst -sha256 -hmac "${DEMO_WEBHOOK_SECRET}" -r | cut -d' ' -f1)
answer=$(curl -sS -X POST "${INGEST_URL}/hooks/github" \
  -H "Content-Type: application/json" -H "X-GitHub-Event: push" \
  -H "X-GitHub-Delivery: ${delivery}" -H "X-Hub-Signature-256: sha256=${signature}" \
  --data-binary "${payload}")
echo "${answer}"
build_id=$(jq -r '.build_id // empty' <<<"${answer}")
[[ -n ${build_id} ]] || die "webhook-ingest did not accept the webhook: ${answer}"

say "Following build ${build_id} (kiln logs -f)"
"${KILN}" logs -f "${build_id}"

digest=$("${KILN}" --output json status "${build_id}" | jq -r .digest)
image="${KILN_REGISTRY}/kiln/demo@${digest}"
say "The image is in the registry (skopeo inspect docker://${image})"
skopeo inspect --tls-verify=false "docker://${image}" | jq '{Name, Digest, Created, Labels, Layers}'

cat <<EOF

Image:   ${image}
Digest:  ${digest}

kiln is still running:
  dashboard      ${QUERY_URL}/          (token: ${KILN_TOKEN})
  command API    ${INGEST_URL}/v1/...    query API ${QUERY_URL}/v1/...
  CLI            ${KILN} --token ${KILN_TOKEN} ls
  logs           ${KILN_HOME}/logs/
Stop everything with:  make stop
EOF
