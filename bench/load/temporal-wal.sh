#!/bin/sh
# The Temporal CLI with its dev server's SQLite in WAL mode without fsync on every commit. The load benchmark points
# KERNOS_TEMPORAL_BIN here: with the default rollback journal, a thousand concurrent runs on a busy 2-core machine
# made SQLite transactions run into the server's deadlines ("interrupted (9)", "shard status unknown") and the dev
# server stopped handing out workflow tasks. Losing the last commits on a power cut does not matter for a benchmark.
real="${KERNOS_TEMPORAL_REAL_BIN:-${KERNOS_CACHE:-$HOME/.cache/kernos}/bin/temporal}"
if [ "$1" = "server" ] && [ "$2" = "start-dev" ]; then
  exec "$real" "$@" --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=off
fi
exec "$real" "$@"
