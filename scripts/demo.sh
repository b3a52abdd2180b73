#!/usr/bin/env bash
# Runs the demo on a fresh machine: installs what is missing, starts the real servers and the kernel, and runs a
# fleet of the example agents (triage and research, several tenants and priorities) through all four services.
# Arguments go to scripts/demo.ts (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --cockpit: the cockpit runs beside the kernel and the demo prints its URL, to watch the fleet in a browser.
exec npx tsx scripts/demo.ts --cockpit "$@"
