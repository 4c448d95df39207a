#!/usr/bin/env bash
# make demo: the whole pipeline on local emulators, no AWS account.
# Starts the local stack (DynamoDB Local on 127.0.0.1:8000, the SES emulator
# on 127.0.0.1:8005; both keep running afterwards, 'make stack-down' stops
# them), then runs 'winback demo': a fresh shop, the sample events through
# the ingest handler, the CDNOW sample as orders, the models on the stored
# customer summaries.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check-tools.sh
scripts/stack.sh install
scripts/stack.sh up
export DYNAMODB_ENDPOINT="${DYNAMODB_ENDPOINT:-http://127.0.0.1:${DYNAMODB_PORT:-8000}}"
exec go run ./scripts/winback demo "$@"
