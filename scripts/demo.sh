#!/usr/bin/env bash
# Runs the demo on a fresh machine: installs what is missing, starts the real servers and the kernel, and runs a
# small fleet of agents through all four services. Arguments go to scripts/demo.ts (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx scripts/demo.ts "$@"
