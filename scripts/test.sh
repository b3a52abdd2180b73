#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh, idempotent), then static checks, the unit tier,
# and the integration tier against real servers on loopback. Ends with one line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== static checks"
npx tsc -p tsconfig.json --noEmit
npx eslint .
npx buf lint protos
# Generated wire code must match protos/: regenerate into a scratch copy and compare.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
npx buf generate protos --template '{"version":"v2","plugins":[{"local":"protoc-gen-es","out":"'"$scratch"'","opt":["target=ts","import_extension=js"]}]}'
if ! diff -r "$scratch" packages/wire/src/gen >/dev/null; then
  echo "kernos: packages/wire/src/gen is stale; run: npm run gen" >&2
  exit 1
fi

echo "== deploy checks (helm lint, kubernetes-validate --strict, chart wiring)"
bash scripts/check-deploy.sh

mkdir -p test-results
status=0
echo "== unit tests"
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=test-results/unit.json || status=1
echo "== integration tests (real nats-server, Temporal dev server, Neo4j, MCP servers)"
npx vitest run --project integration --reporter=default --reporter=json --outputFile.json=test-results/integration.json || status=1

node -e '
const fs = require("fs");
let passed = 0, failed = 0, skipped = 0;
for (const f of ["test-results/unit.json", "test-results/integration.json"]) {
  if (!fs.existsSync(f)) { failed += 1; console.error(`kernos: ${f} missing: that tier did not run`); continue; }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (passed === 0) process.exit(1);
' || status=1
exit $status
