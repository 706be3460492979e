#!/bin/sh
# The chaos soak (docs/soak.md) in short: the same driver as `make soak`, with
# at least 100 SIGKILLs of random processes of the running system, a kill
# every 0.2-0.8 s, then the same exact reconciliation.
exec env SOAK_KILLS="${SOAK_KILLS:-100}" SOAK_MIN_MS=200 SOAK_MAX_MS=800 \
    SOAK_OUT="${SOAK_OUT:-build/soak-short}" sh "$(dirname "$0")/../soak/soak.sh"
