#!/usr/bin/env bash
# Installs the deployment tools into ${KERNOS_CACHE:-$HOME/.cache/kernos} when they are missing or of another
# version: helm (built with `go install`, a few minutes the first time) and kubernetes-validate (PyPI, in a
# venv; it bundles the Kubernetes JSON schemas, so validating needs no network). Idempotent: a second run
# prints "reused" for both and takes about a second. scripts/setup.sh calls it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deploy-env.sh
source scripts/deploy-env.sh

say() { printf '%-20s %s\n' "$1" "$2"; }
fail() {
  printf 'kernos setup-deploy-tools: %s\n' "$1" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

mkdir -p "$DEPLOY_CACHE/bin"

# --- helm --------------------------------------------------------------------------------------------
# `go install` does not stamp the release into `helm version`, so the module version is read from the
# binary's build info instead.
helm_is_current() {
  [[ -x "$HELM" ]] &&
    go version -m "$HELM" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+helm.sh/helm/v3[[:space:]]+$HELM_VERSION([[:space:]]|$)"
}

install_helm() {
  if [[ -x "$HELM" ]] && ! have go; then
    say helm "reused (version unchecked: go not found)"
    return
  fi
  if helm_is_current; then
    say helm "reused ($HELM_VERSION)"
    return
  fi
  have go || fail "go not found (needed to build helm $HELM_VERSION); install Go >= 1.24 and rerun"
  echo "building helm $HELM_VERSION with go install (a few minutes on first run)..."
  local started=$SECONDS
  GOBIN="$DEPLOY_CACHE/bin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" ||
    fail "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed; see the output above"
  say helm "installed ($HELM_VERSION, $((SECONDS - started))s)"
}

# --- kubernetes-validate -----------------------------------------------------------------------------
install_kubernetes_validate() {
  if [[ -x "$KUBERNETES_VALIDATE" ]] && [[ "$("$KUBERNETES_VALIDATE" --version 2>/dev/null)" == "$KUBERNETES_VALIDATE_VERSION" ]]; then
    say kubernetes-validate "reused ($KUBERNETES_VALIDATE_VERSION)"
    return
  fi
  have python3 || fail "python3 not found (needed for kubernetes-validate); run: apt-get install -y python3 python3-venv"
  local started=$SECONDS
  if [[ ! -x "$DEPLOY_VENV/bin/pip" ]]; then
    rm -rf "$DEPLOY_VENV"
    if ! python3 -m venv "$DEPLOY_VENV" 2>/dev/null; then
      # Debian splits venv (ensurepip) out of python3.
      have apt-get || fail "python3 -m venv failed and apt-get is unavailable; install the venv module of python3"
      rm -rf "$DEPLOY_VENV"
      apt-get install -y -qq python3-venv >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq python3-venv >/dev/null; } ||
        fail "apt-get install -y python3-venv failed"
      python3 -m venv "$DEPLOY_VENV" || fail "python3 -m venv $DEPLOY_VENV failed"
    fi
  fi
  "$DEPLOY_VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" ||
    fail "pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION failed; see the output above"
  say kubernetes-validate "installed ($KUBERNETES_VALIDATE_VERSION, $((SECONDS - started))s)"
}

install_helm
install_kubernetes_validate
