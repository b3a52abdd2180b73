#!/usr/bin/env bash
# Checks the deployment artefacts: helm/kernos and deploy/k8s. Installs the tools when missing
# (setup-deploy-tools.sh), then: the values schema is current, `helm lint --strict` with the default and the
# example values, `helm template` for several value sets with every manifest validated by
# `kubernetes-validate --strict` against Kubernetes $KUBE_VERSION, the chart refusing bad values with a clear
# message, the wiring test (scripts/check-chart-wiring.ts), helm/nats-values.yaml against a real nats-server
# (scripts/check-nats-values.ts, plus broken copies it must reject), and deploy/k8s matching a fresh render.
# Ends with "deploy checks: N passed, N failed"; exits 1 when any check failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=scripts/deploy-env.sh
source scripts/deploy-env.sh

bash scripts/setup-deploy-tools.sh || { echo "kernos check-deploy: setting up the tools failed" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
started=$SECONDS

# run LABEL COMMAND...: one check; its output is shown only when it fails.
run() {
  local label="$1"
  shift
  if "$@" >"$work/out" 2>&1; then
    passed=$((passed + 1))
    printf '  ok    %s\n' "$label"
  else
    failed=$((failed + 1))
    printf '  FAIL  %s\n' "$label"
    sed 's/^/        /' "$work/out" | head -60
  fi
}

# refuses LABEL PATTERN ARGS...: `helm template` with ARGS must fail with a message matching PATTERN.
refuses() {
  local label="$1" pattern="$2"
  shift 2
  if "$HELM" template kernos "$CHART_DIR" --namespace "$K8S_NAMESPACE" --kube-version "$KUBE_VERSION" "$@" >"$work/out" 2>&1; then
    failed=$((failed + 1))
    printf '  FAIL  %s\n        helm template accepted: %s\n' "$label" "$*"
  elif ! grep -Eq -- "$pattern" "$work/out"; then
    failed=$((failed + 1))
    printf '  FAIL  %s\n        rejected, but the message does not match /%s/:\n' "$label" "$pattern"
    sed 's/^/        /' "$work/out" | head -20
  else
    passed=$((passed + 1))
    printf '  ok    %s: %s\n' "$label" "$(grep -Eo -- "$pattern.*" "$work/out" | head -1 | cut -c1-110)"
  fi
}

# render NAME ARGS...: `helm template` into $work/NAME.yaml, then kubernetes-validate every manifest in it.
render() {
  local name="$1"
  shift
  local file="$work/$name.yaml"
  if "$HELM" template kernos "$CHART_DIR" --namespace "$K8S_NAMESPACE" --kube-version "$KUBE_VERSION" "$@" >"$file" 2>"$work/err"; then
    local count
    count="$(grep -c '^kind:' "$file")"
    run "$name: helm template renders ($count resources)" true
    run "$name: kubernetes-validate --strict -k $KUBE_VERSION" "$KUBERNETES_VALIDATE" --strict --quiet -k "$KUBE_VERSION" "$file"
  else
    failed=$((failed + 1))
    printf '  FAIL  %s: helm template\n' "$name"
    sed 's/^/        /' "$work/err" | head -20
  fi
}

endpoints='[{"name":"hosted","baseUrl":"https://models.example/v1","model":"m-1","maxConcurrent":8}]'

echo "== values schema"
run "helm/kernos/values.schema.json matches scripts/gen-values-schema.ts" npx tsx scripts/gen-values-schema.ts --check

echo "== helm lint --strict (kube $KUBE_VERSION)"
run "default values" "$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART_DIR"
for values in "$CHART_DIR"/values-*.yaml; do
  run "$(basename "$values")" "$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART_DIR" --values "$values"
done

echo "== helm template + kubernetes-validate (kube $KUBE_VERSION)"
render default
render dev --values "$CHART_DIR/values-dev.yaml"
render production --values "$CHART_DIR/values-production.yaml"
render autoscaling --set worker.autoscaling.enabled=true --set worker.autoscaling.targetMemoryUtilizationPercentage=80
render emulator-off --set modelEmulator.enabled=false --set-json "scheduler.endpoints=$endpoints"
render existing-secrets --set nats.credentials.create=false --set nats.credentials.existingSecret=kernos-nats \
  --set neo4j.auth.create=false --set neo4j.auth.existingSecret=kernos-neo4j --set models.apiKey.existingSecret=kernos-models
render mcp-endpoint-and-metrics --set toolGateway.mcpEndpoint.enabled=true --set toolGateway.mcpEndpoint.existingSecret=mcp-tokens \
  --set telemetry.otlpMetricsEndpoint=http://otel:4318/v1/metrics --set telemetry.otlpTracesEndpoint=http://otel:4318/v1/traces
render no-cockpit-no-model-gateway --set cockpit.enabled=false --set modelGateway.enabled=false
render minimal --set networkPolicy.enabled=false --set probes.enabled=false --set neo4j.auth.enabled=false \
  --set scheduler.pdb.enabled=false --set access.serviceAccount.create=false

echo "== the chart refuses bad values"
refuses "a misspelt key" "additional properties 'replicaCont' not allowed" --set scheduler.replicaCont=2
refuses "a misspelt key in a list item" "additional properties 'polcy' not allowed" \
  --set-json 'scheduler.endpoints=[{"name":"a","baseUrl":"http://a/v1","model":"m","maxConcurrent":1,"polcy":"fifo"}]'
refuses "a second scheduler without a state bucket" "scheduler.stateBucket is empty" --set scheduler.replicaCount=2 --set scheduler.stateBucket=
refuses "an unknown scheduling policy" "/scheduler/endpoints/0/policy" \
  --set-json 'scheduler.endpoints=[{"name":"a","baseUrl":"http://a/v1","model":"m","maxConcurrent":1,"policy":"lottery"}]'
refuses "no NATS Secret at all" "existingSecret.*minLength" --set nats.credentials.create=false
refuses "no model endpoint" "the scheduler has no model endpoint" --set modelEmulator.enabled=false
refuses "a grace period shorter than the shutdown" "must be longer than shutdownGraceMs" --set worker.terminationGracePeriodSeconds=5
refuses "a malformed NATS URL" "/nats/url" --set nats.url=nats.example:4222
refuses "an MCP endpoint without tokens" "toolGateway.mcpEndpoint.enabled needs bearer tokens" --set toolGateway.mcpEndpoint.enabled=true
refuses "a cockpit token shorter than 16 characters" "/cockpit/users/0/token.*minLength" \
  --set-json 'cockpit.users=[{"name":"a","identity":"a","role":"operator","token":"short"}]'
refuses "a model-gateway key without governance" "/modelGateway/apiKeys/0.*governance" \
  --set-json 'modelGateway.apiKeys=[{"key":"0123456789abcdef","tenant":"t","jobId":"j"}]'
refuses "a misspelt tool policy field" "additional properties 'maxAttempt' not allowed" --set toolGateway.policy.retry.maxAttempt=2

echo "== wiring"
before=$failed
run "scripts/check-chart-wiring.ts (each process gets its own NATS role, Neo4j, Temporal and endpoint settings)" \
  env KERNOS_HELM="$HELM" KERNOS_DEPLOY_PYTHON="$DEPLOY_VENV/bin/python" KERNOS_KUBE_VERSION="$KUBE_VERSION" npx tsx scripts/check-chart-wiring.ts
# On success, show the value sets it covered (a failure already showed the whole output).
[[ $failed -ne $before ]] || grep -E '^ok  ' "$work/out" | sed 's/^/        /'

echo "== helm/nats-values.yaml (the NATS chart's per-role users)"
nats_check=(env KERNOS_DEPLOY_PYTHON="$DEPLOY_VENV/bin/python" npx tsx scripts/check-nats-values.ts)
run "generated by the role generator; nats-server -t accepts the config it builds; every role connects, no worker writes audit" "${nats_check[@]}"
# rejects LABEL SED-EXPRESSION: a copy of helm/nats-values.yaml broken with SED-EXPRESSION must fail the check,
# so the check is known to catch that kind of mistake.
rejects() {
  local label="$1" expression="$2"
  sed "$expression" helm/nats-values.yaml >"$work/broken-nats-values.yaml"
  if cmp -s helm/nats-values.yaml "$work/broken-nats-values.yaml"; then
    failed=$((failed + 1))
    printf '  FAIL  %s\n        the sed expression changed nothing: %s\n' "$label" "$expression"
  elif "${nats_check[@]}" --skip-generator-check --values "$work/broken-nats-values.yaml" >"$work/out" 2>&1; then
    failed=$((failed + 1))
    printf '  FAIL  %s\n        the check accepted a broken copy (%s)\n' "$label" "$expression"
  else
    passed=$((passed + 1))
    printf '  ok    rejects %s: %s\n' "$label" "$(grep -E 'FAIL' "$work/out" | head -1 | sed 's/^ *FAIL *//' | cut -c1-100)"
  fi
}
rejects "a password variable without an env entry" '/name: KERNOS_NATS_PASSWORD_COCKPIT/,+1d'
rejects "an invalid subject" 's/"kernos.scheduler.acquire"/"kernos.>.acquire"/'
rejects "a misspelt permissions field" '0,/allow_responses/s/allow_responses/allow_response/'
rejects "a role missing" '/- user: kernos-model-gateway/,+5d'

echo "== deploy/k8s"
run "$K8S_DIR matches the chart rendered with $K8S_VALUES" bash scripts/render-k8s.sh --check
k8s_files=()
for file in "$K8S_DIR"/*.yaml; do
  [[ "$(basename "$file")" == kustomization.yaml ]] || k8s_files+=("$file")
done
run "$K8S_DIR: kubernetes-validate --strict -k $KUBE_VERSION (${#k8s_files[@]} files)" "$KUBERNETES_VALIDATE" --strict --quiet -k "$KUBE_VERSION" "${k8s_files[@]}"

echo "deploy checks took $((SECONDS - started))s"
echo "deploy checks: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
