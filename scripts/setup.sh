#!/usr/bin/env bash
# Installs and caches everything the Kernos dev stack needs: nats-server (JetStream), the Temporal dev
# server, the embedded Neo4j launcher and the root node_modules. Idempotent: a second run finds every
# component in place and only prints "reused". Cache dir: ${KERNOS_CACHE:-$HOME/.cache/kernos}.
set -euo pipefail

readonly TEMPORAL_CLI_VERSION="v1.5.1"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly CACHE="${KERNOS_CACHE:-$HOME/.cache/kernos}"
readonly LAUNCHER_SRC="$REPO_ROOT/tools/neo4j-launcher"

say() { printf '%-16s %s\n' "$1" "$2"; }
fail() {
  printf 'kernos setup: %s\n' "$1" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

mkdir -p "$CACHE/bin"

# --- nats-server -------------------------------------------------------------------------------------
# Debian's package (2.9.x) has JetStream built in, which is all the stack needs. It lands in /usr/sbin,
# which is not on every user's PATH, so the binary is also linked into the cache bin that devstack searches.
find_nats() {
  if have nats-server; then command -v nats-server; elif [[ -x /usr/sbin/nats-server ]]; then echo /usr/sbin/nats-server; fi
}

install_nats() {
  local status=reused bin
  if [[ -x "$CACHE/bin/nats-server" ]]; then
    say nats-server reused
    return
  fi
  bin="$(find_nats)"
  if [[ -z "$bin" ]]; then
    have apt-get || fail "nats-server not found and apt-get is unavailable; install nats-server >= 2.9 and put it on PATH or in $CACHE/bin"
    # Only refresh the package lists when the install fails: an update costs tens of seconds.
    if ! apt-get install -y -qq nats-server >/dev/null 2>&1; then
      apt-get update -qq >/dev/null
      apt-get install -y -qq nats-server >/dev/null || fail "apt-get install -y nats-server failed; see the output above"
    fi
    bin="$(find_nats)"
    [[ -n "$bin" ]] || fail "nats-server was installed but cannot be found; check dpkg -L nats-server"
    status=installed
  fi
  ln -sf "$bin" "$CACHE/bin/nats-server"
  say nats-server "$status"
}

# --- temporal ----------------------------------------------------------------------------------------
# `go install` does not stamp the CLI's version into `temporal --version`, so the module version is read
# from the binary's build info instead.
temporal_is_current() {
  [[ -x "$CACHE/bin/temporal" ]] &&
    go version -m "$CACHE/bin/temporal" 2>/dev/null |
    grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/temporalio/cli[[:space:]]+$TEMPORAL_CLI_VERSION([[:space:]]|$)"
}

install_temporal() {
  if [[ -x "$CACHE/bin/temporal" ]] && ! have go; then
    # Without go the version cannot be read; a cached binary is better than failing.
    say temporal "reused (version unchecked: go not found)"
    return
  fi
  if temporal_is_current; then
    say temporal reused
    return
  fi
  have go || fail "go not found (needed to build the Temporal CLI $TEMPORAL_CLI_VERSION); install Go >= 1.25 (https://go.dev/dl), put it on PATH and rerun"
  echo "building temporal $TEMPORAL_CLI_VERSION (a few minutes on first run)..."
  GOBIN="$CACHE/bin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" ||
    fail "go install github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION failed; see the output above"
  say temporal installed
}

# --- neo4j launcher ----------------------------------------------------------------------------------
# The cache key is a hash of the launcher's sources, so editing pom.xml or Launcher.java yields a new lib
# dir. packages/devstack computes the same hash (launcherHash in src/binaries.ts): keep the two in step.
launcher_hash() {
  (cd "$LAUNCHER_SRC" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16
}

java_major() {
  java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1
}

install_neo4j_launcher() {
  have java || fail "java not found (Neo4j needs Java 17+); run: apt-get install -y openjdk-17-jdk-headless"
  local major
  major="$(java_major)"
  [[ "${major:-0}" -ge 17 ]] || fail "java $major found but Neo4j 5.26 needs Java 17+; run: apt-get install -y openjdk-17-jdk-headless"

  local dest
  dest="$CACHE/neo4j-launcher/$(launcher_hash)"
  if [[ -d "$dest/lib" ]]; then
    say neo4j-launcher reused
    return
  fi
  have mvn || fail "mvn not found (needed to build tools/neo4j-launcher); run: apt-get install -y maven"
  echo "building tools/neo4j-launcher (downloads Neo4j from Maven Central on first run)..."
  # Maven 3.8 prints stray colour resets even with -q -B, so its output is kept only for a failure.
  local log="$CACHE/neo4j-launcher-build.log"
  if ! (cd "$LAUNCHER_SRC" && mvn -q -B package) >"$log" 2>&1; then
    cat "$log" >&2
    fail "mvn package in tools/neo4j-launcher failed; see the output above"
  fi

  # Copy into a temp dir and rename, so an interrupted run never leaves a half-filled lib dir that the
  # check above would mistake for a finished one.
  local tmp
  tmp="$(mktemp -d "$CACHE/neo4j-launcher.tmp.XXXXXX")"
  mkdir -p "$tmp/lib"
  cp "$LAUNCHER_SRC"/target/lib/*.jar "$tmp/lib/"
  cp "$LAUNCHER_SRC"/target/neo4j-launcher-*.jar "$tmp/lib/"
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  say neo4j-launcher installed
}

# --- node_modules ------------------------------------------------------------------------------------
# npm rewrites node_modules/.package-lock.json on every install, so it is older than package-lock.json
# exactly when the lockfile changed since the last install.
install_node_modules() {
  have npm || fail "npm not found; install Node.js >= 20.19 (https://nodejs.org) and rerun"
  local hidden="$REPO_ROOT/node_modules/.package-lock.json"
  if [[ -f "$REPO_ROOT/package-lock.json" ]]; then
    if [[ -f "$hidden" && ! "$hidden" -ot "$REPO_ROOT/package-lock.json" ]]; then
      say node_modules reused
      return
    fi
    (cd "$REPO_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed; see the output above"
  else
    if [[ -d "$REPO_ROOT/node_modules" ]]; then
      say node_modules reused
      return
    fi
    (cd "$REPO_ROOT" && npm install --no-audit --no-fund --loglevel=error) || fail "npm install failed; see the output above"
  fi
  say node_modules installed
}

# --- chromium ----------------------------------------------------------------------------------------
# Debian's chromium, driven headless by playwright-core in the cockpit's browser tests (no browser download from
# the playwright CDN). Only installed when missing; the package lists are refreshed only if the install fails.
install_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    say chromium reused
    return
  fi
  have apt-get || fail "chromium not found and apt-get is unavailable; install chromium so /usr/bin/chromium exists (cockpit browser tests)"
  if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null || fail "apt-get install -y chromium failed; see the output above"
  fi
  say chromium installed
}

install_nats
install_temporal
install_neo4j_launcher
install_node_modules
install_chromium
# helm and kubernetes-validate, for the chart checks in the test command.
bash "$REPO_ROOT/scripts/setup-deploy-tools.sh"
echo "kernos setup: done (cache: $CACHE)"
