#!/usr/bin/env bash
# Signet end-to-end demo: starts a throwaway local registry (the Debian
# docker-registry, CNCF distribution) on a free loopback port, pushes a small
# demo image with skopeo (an independent tool), then uses signet on it.
# Everything lives in a temporary directory that is removed on exit, and the
# registry is stopped by its PID.
#
# Usage: bash scripts/demo.sh          (from anywhere; needs root or sudo for
#                                       the first-time apt-get in setup.sh)
# It also starts signet's own transparency log (SQLite, free loopback port),
# signs into it, prints the log index, and verifies with the pinned log key.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

step() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------- set-up
step "Installing what is missing and building"
bash scripts/setup.sh
npm run build --silent

SIGNET=(node "$ROOT/dist/src/cli/main.js")
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signet-demo.XXXXXX")"
REGISTRY_PID=""
LOG_PID=""

cleanup() {
  if [ -n "$LOG_PID" ] && kill -0 "$LOG_PID" 2>/dev/null; then
    kill "$LOG_PID" 2>/dev/null || true
    wait "$LOG_PID" 2>/dev/null || true
  fi
  if [ -n "$REGISTRY_PID" ] && kill -0 "$REGISTRY_PID" 2>/dev/null; then
    if grep -q "docker-registry" "/proc/$REGISTRY_PID/cmdline" 2>/dev/null; then
      kill "$REGISTRY_PID" 2>/dev/null || true
      wait "$REGISTRY_PID" 2>/dev/null || true
    fi
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# The demo never reads the machine's registry credentials or containers
# configuration: everything points into $WORK.
export HOME="$WORK/home"
export DOCKER_CONFIG="$WORK/docker"
export XDG_CONFIG_HOME="$WORK/home/.config"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR DOCKER_AUTH_CONFIG
mkdir -p "$HOME" "$DOCKER_CONFIG" "$XDG_CONFIG_HOME"
echo '{"auths":{}}' >"$DOCKER_CONFIG/config.json"

# ------------------------------------------------------- local registry
step "Starting a local registry"
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'
}
answers() { # true when something answers GET /v2/ on the port
  node -e 'fetch(`http://127.0.0.1:${process.argv[1]}/v2/`).then(()=>process.exit(0),()=>process.exit(1))' "$1"
}
PORT="$(free_port)"
if answers "$PORT"; then
  echo "port $PORT is already in use" >&2
  exit 1
fi
mkdir -p "$WORK/registry-data"
cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
  secret: signet-demo
EOF
/usr/bin/docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 </dev/null &
REGISTRY_PID=$!
for _ in $(seq 100); do
  answers "$PORT" && break
  sleep 0.1
done
answers "$PORT" || { cat "$WORK/registry.log" >&2; echo "registry did not start" >&2; exit 1; }
REGISTRY="127.0.0.1:$PORT"
IMAGE="$REGISTRY/demo/app:latest"
echo "registry: http://$REGISTRY (pid $REGISTRY_PID, storage $WORK/registry-data)"

# ------------------------------------------------------- demo image
step "Building a small OCI image layout and pushing it with skopeo"
LAYOUT="$WORK/layout"
mkdir -p "$LAYOUT/blobs/sha256" "$WORK/rootfs"
echo "hello from the signet demo" >"$WORK/rootfs/hello.txt"
blob() { # stores stdin as a blob, prints "<hex> <size>"
  local tmp="$WORK/blob.tmp" hex size
  cat >"$tmp"
  hex="$(sha256sum "$tmp" | cut -d' ' -f1)"
  size="$(stat -c %s "$tmp")"
  mv "$tmp" "$LAYOUT/blobs/sha256/$hex"
  echo "$hex $size"
}
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -C "$WORK/rootfs" -cf "$WORK/layer.tar" hello.txt
DIFF_ID="$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)"
read -r LAYER_HEX LAYER_SIZE < <(gzip -n -c "$WORK/layer.tar" | blob)
read -r CONFIG_HEX CONFIG_SIZE < <(printf '%s' \
  "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/cat\",\"/hello.txt\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$DIFF_ID\"]}}" | blob)
read -r MANIFEST_HEX MANIFEST_SIZE < <(printf '%s' \
  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$CONFIG_HEX\",\"size\":$CONFIG_SIZE},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$LAYER_HEX\",\"size\":$LAYER_SIZE}]}" | blob)
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$MANIFEST_HEX\",\"size\":$MANIFEST_SIZE,\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}" >"$LAYOUT/index.json"

echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$WORK/policy.json"
mkdir -p "$WORK/registries.d"
SKOPEO=(skopeo --policy "$WORK/policy.json" --registries.d "$WORK/registries.d")
"${SKOPEO[@]}" copy --quiet --preserve-digests --dest-tls-verify=false \
  "oci:$LAYOUT:latest" "docker://$IMAGE"
echo "pushed $IMAGE (manifest sha256:$MANIFEST_HEX)"

# ------------------------------------------------------- signet digest
step "signet digest $IMAGE"
DIGEST="$("${SIGNET[@]}" digest "$IMAGE")"
echo "$DIGEST"
"${SKOPEO[@]}" inspect --raw --tls-verify=false "docker://$IMAGE" >"$WORK/skopeo-manifest.json"
EXPECTED="$(skopeo manifest-digest "$WORK/skopeo-manifest.json")"
if [ "$DIGEST" != "$EXPECTED" ]; then
  echo "MISMATCH: skopeo computes $EXPECTED" >&2
  exit 1
fi
echo "matches skopeo manifest-digest: $EXPECTED"

# ------------------------------------------------------- signet manifest
step "signet manifest $IMAGE"
"${SIGNET[@]}" manifest "$IMAGE" >"$WORK/signet-manifest.json"
cat "$WORK/signet-manifest.json"
echo
cmp -s "$WORK/signet-manifest.json" "$WORK/skopeo-manifest.json" ||
  { echo "MISMATCH: manifest bytes differ from skopeo's" >&2; exit 1; }
echo "byte-identical to what skopeo reads"

step "signet manifest $REGISTRY/demo/app@$DIGEST"
"${SIGNET[@]}" manifest "$REGISTRY/demo/app@$DIGEST" | cmp -s - "$WORK/skopeo-manifest.json"
echo "by-digest fetch verified"

# ------------------------------------------------------- transparency log
step "Starting signet's transparency log (signet tlog serve, SQLite in $WORK/tlog)"
log_answers() { # true when the log serves its public key on the port
  node -e 'fetch(`http://127.0.0.1:${process.argv[1]}/api/v1/log/publicKey`).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"
}
LOG_PORT="$(free_port)"
mkdir -p "$WORK/tlog"
"${SIGNET[@]}" tlog serve --listen "127.0.0.1:$LOG_PORT" --hostname 127.0.0.1 \
  --db "$WORK/tlog/signet-tlog.db" --key "$WORK/tlog/signet-tlog.key" \
  >"$WORK/tlog.log" 2>&1 </dev/null &
LOG_PID=$!
for _ in $(seq 100); do
  log_answers "$LOG_PORT" && break
  sleep 0.1
done
log_answers "$LOG_PORT" || { cat "$WORK/tlog.log" >&2; echo "log did not start" >&2; exit 1; }
REKOR="http://127.0.0.1:$LOG_PORT"
# Pin the log key (derived from the log's own key file), rather than
# trusting whatever key the URL serves.
node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createPublicKey(f.readFileSync(process.argv[1])).export({type:"spki",format:"pem"}))' \
  "$WORK/tlog/signet-tlog.key" >"$WORK/rekor.pub"
echo "log: $REKOR (pid $LOG_PID), public key pinned in $WORK/rekor.pub"

# ------------------------------------------------------- sign and verify
step "signet generate-key-pair (password from COSIGN_PASSWORD)"
export COSIGN_PASSWORD="signet-demo-password"
(cd "$WORK" && "${SIGNET[@]}" generate-key-pair --yes)

step "signet sign --key cosign.key -a demo=signet --rekor-url $REKOR --rekor-public-key rekor.pub $REGISTRY/demo/app@$DIGEST"
"${SIGNET[@]}" sign --key "$WORK/cosign.key" -a demo=signet \
  --rekor-url "$REKOR" --rekor-public-key "$WORK/rekor.pub" \
  "$REGISTRY/demo/app@$DIGEST" 2>&1 | tee "$WORK/sign.out"
LOG_INDEX="$(sed -n 's/^tlog entry created with index: \([0-9]*\)$/\1/p' "$WORK/sign.out")"
[ -n "$LOG_INDEX" ] || { echo "sign did not report a log index" >&2; exit 1; }
SIG_TAG="sha256-${DIGEST#sha256:}.sig"
echo "signature stored at $REGISTRY/demo/app:$SIG_TAG, log index $LOG_INDEX"
echo "log entry $LOG_INDEX, as the log serves it:"
"${SIGNET[@]}" tlog get --rekor-url "$REKOR" --log-index "$LOG_INDEX" >"$WORK/entry.out"
cut -c1-400 "$WORK/entry.out"

# verify (and the rest of the demo) uses the same log and pinned key.
export SIGNET_REKOR_URL="$REKOR" SIGSTORE_REKOR_PUBLIC_KEY="$WORK/rekor.pub"
step "signet verify --key cosign.pub -a demo=signet $IMAGE (log key from SIGSTORE_REKOR_PUBLIC_KEY)"
"${SIGNET[@]}" verify --key "$WORK/cosign.pub" -a demo=signet "$IMAGE"

# ------------------------------------------------------- tamper
step "Tampering: another image pushed under the same tag, the valid signature copied onto it"
LAYOUT="$WORK/layout-evil" # blob() stores into $LAYOUT
mkdir -p "$LAYOUT/blobs/sha256" "$WORK/rootfs-evil"
echo "not what was signed" >"$WORK/rootfs-evil/hello.txt"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -C "$WORK/rootfs-evil" -cf "$WORK/layer-evil.tar" hello.txt
EVIL_DIFF_ID="$(sha256sum "$WORK/layer-evil.tar" | cut -d' ' -f1)"
read -r EVIL_LAYER_HEX EVIL_LAYER_SIZE < <(gzip -n -c "$WORK/layer-evil.tar" | blob)
read -r EVIL_CONFIG_HEX EVIL_CONFIG_SIZE < <(printf '%s' \
  "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/cat\",\"/hello.txt\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$EVIL_DIFF_ID\"]}}" | blob)
read -r EVIL_HEX EVIL_SIZE < <(printf '%s' \
  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$EVIL_CONFIG_HEX\",\"size\":$EVIL_CONFIG_SIZE},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$EVIL_LAYER_HEX\",\"size\":$EVIL_LAYER_SIZE}]}" | blob)
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$EVIL_HEX\",\"size\":$EVIL_SIZE,\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}" >"$LAYOUT/index.json"
"${SKOPEO[@]}" copy --quiet --preserve-digests --dest-tls-verify=false \
  "oci:$LAYOUT:latest" "docker://$IMAGE"
echo "$IMAGE now points to sha256:$EVIL_HEX"
"${SKOPEO[@]}" copy --quiet --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
  "docker://$REGISTRY/demo/app:$SIG_TAG" "docker://$REGISTRY/demo/app:sha256-$EVIL_HEX.sig"
echo "copied the valid signature manifest to $REGISTRY/demo/app:sha256-$EVIL_HEX.sig"

step "signet verify --key cosign.pub $IMAGE (must fail with exit code 12)"
set +e
"${SIGNET[@]}" verify --key "$WORK/cosign.pub" "$IMAGE"
CODE=$?
set -e
if [ "$CODE" -ne 12 ]; then
  echo "UNEXPECTED: verify exited with $CODE, expected 12 (no matching signature)" >&2
  exit 1
fi
echo "verification failed as it must: exit code $CODE (the signature names sha256:${DIGEST#sha256:})"

step "The original image still verifies by digest"
"${SIGNET[@]}" verify --key "$WORK/cosign.pub" "$REGISTRY/demo/app@$DIGEST" >/dev/null
echo "$REGISTRY/demo/app@$DIGEST: verified"

step "Log stopped: the bundle annotation still verifies offline (signet verify --offline=true)"
kill "$LOG_PID"
wait "$LOG_PID" 2>/dev/null || true
LOG_PID=""
"${SIGNET[@]}" verify --offline=true --key "$WORK/cosign.pub" "$REGISTRY/demo/app@$DIGEST" >/dev/null
echo "$REGISTRY/demo/app@$DIGEST: verified from the bundle, no log contacted"

# ------------------------------------------------------- done
step "Demo finished: registry stopped and $WORK removed on exit"
