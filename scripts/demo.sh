#!/usr/bin/env bash
# make demo: the whole pipeline on local emulators, no AWS account.
# Starts the local stack (DynamoDB Local on 127.0.0.1:8000, the SES emulator
# on 127.0.0.1:8005, the SQS emulator on 127.0.0.1:8010; they keep running
# afterwards, 'make demo-down' stops them), then runs 'winback demo': a
# fresh demo shop's two years of orders through the HTTP API, the nightly
# job, the win-back campaign through the SQS and SES emulators, the weeks
# after it played forward, and the report in out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check-tools.sh
scripts/stack.sh install
scripts/stack.sh up
export DYNAMODB_ENDPOINT="${DYNAMODB_ENDPOINT:-http://127.0.0.1:${DYNAMODB_PORT:-8000}}"
export SQS_ENDPOINT="${SQS_ENDPOINT:-http://127.0.0.1:${SQS_PORT:-8010}}"
export SES_ENDPOINT="${SES_ENDPOINT:-http://127.0.0.1:${SES_PORT:-8005}}"
exec go run ./scripts/winback demo "$@"
