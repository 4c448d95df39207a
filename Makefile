# winback: make test (everything CI runs), make demo (the pipeline on local emulators).
SHELL := /bin/bash
# Every directory under functions/ (not its files, e.g. binaries_test.go).
FUNCTIONS := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))
GO_BUILD_LAMBDA := GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: test lint unit tools chromium emulators stack stack-down demo-down build synth demo api bench bench-ingest bench-clv bench-nightly bench-campaign clean

# RACE are the packages with concurrency: the store's batches and its
# integration tests, ingestion, the API's shop cache, the models' parallel
# fits and scoring, the emulator launcher and the dev server's end-to-end
# tests. make test runs them under the race detector, the rest without.
RACE := ./shared/store/... ./shared/ingest/... ./shared/httpapi/... ./shared/clv/... ./shared/nightly/... ./shared/campaign/... ./internal/emulator/... ./internal/sqslocal/... ./scripts/devserver/...

## test: lint, unit and integration tests (against DynamoDB Local and the SES emulator), CDK assertions;
##       the browser tests in headless Chromium; the packages in RACE under the race detector
test: tools chromium emulators lint
	go test -count=1 $$(go list ./... | grep -vxF -f <(go list $(RACE)))
	go test -race -count=1 $(RACE)

## lint: gofmt, go vet, staticcheck and a clean go mod tidy
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...
	@cp go.mod /tmp/winback.go.mod.bak; cp go.sum /tmp/winback.go.sum.bak; go mod tidy -e 2>/dev/null; \
	  if ! diff -q go.mod /tmp/winback.go.mod.bak >/dev/null || ! diff -q go.sum /tmp/winback.go.sum.bak >/dev/null; then \
	    cp /tmp/winback.go.mod.bak go.mod; cp /tmp/winback.go.sum.bak go.sum; \
	    echo "go mod tidy changes go.mod/go.sum: run 'go mod tidy' and commit"; exit 1; fi

## tools: check that Go, Node/npm and Java 17 are installed
tools:
	@scripts/check-tools.sh

## chromium: find Chromium for the browser tests, or install Debian's chromium package (as root, with apt-get)
chromium:
	@scripts/install-chromium.sh >/dev/null

## emulators: install DynamoDB Local and aws-ses-v2-local (pinned, into .local/ and node_modules/)
emulators:
	@scripts/stack.sh install

## stack / stack-down: start / stop the emulators in the background (DynamoDB 127.0.0.1:8000, SES 127.0.0.1:8005,
##       SQS 127.0.0.1:8010)
stack: tools
	@scripts/stack.sh up

stack-down:
	@scripts/stack.sh down

## build: one linux/arm64 bootstrap per function into bin/<fn>/bootstrap (what infra/ packages)
build: $(addprefix build-,$(FUNCTIONS))

# Each function ships Go's zone database beside its binary (ZONEINFO in infra/):
# provided.al2023 has none, and embedding time/tzdata would add 450 KB to every binary.
build-%:
	$(GO_BUILD_LAMBDA) -o bin/$*/bootstrap ./functions/$*
	cp "$$(go env GOROOT)/lib/time/zoneinfo.zip" bin/$*/zoneinfo.zip

# cdk: the CDK CLI pinned in scripts/node/package-lock.json (installed by `scripts/stack.sh install-cdk`)
CDK := scripts/node/node_modules/.bin/cdk

## synth: the CloudFormation templates into cdk.out/ (no AWS account needed)
synth: tools build
	@scripts/stack.sh install-cdk
	$(CDK) synth --quiet --output cdk.out

.PHONY: deploy
## deploy: build and deploy the Winback stack to the AWS account of your credentials
#   needs AWS credentials and, once per account and region, `scripts/node/node_modules/.bin/cdk bootstrap`
deploy: tools build
	@scripts/stack.sh install-cdk
	$(CDK) deploy Winback --output cdk.out

## demo: the whole pipeline on local emulators, no AWS account
demo: tools emulators
	@scripts/demo.sh

## demo-down: stop what make demo started (the local stack)
demo-down:
	@scripts/stack.sh down

## api: the HTTP API on 127.0.0.1:$${PORT:-8080} over the local stack
api: tools emulators
	@scripts/stack.sh up
	DYNAMODB_ENDPOINT="$${DYNAMODB_ENDPOINT-http://127.0.0.1:$${DYNAMODB_PORT:-8000}}" go run ./scripts/devserver

## bench: benchmarks with figures and ratios (ingest, the nightly job and a win-back campaign against DynamoDB
##        Local and the SQS and SES emulators, models on CDNOW and simulated data)
bench: bench-ingest bench-clv bench-nightly bench-campaign

bench-nightly: tools emulators
	@scripts/bench-nightly

bench-campaign: tools emulators
	@scripts/bench-campaign

bench-ingest: tools emulators
	@scripts/bench-ingest

bench-clv:
	@scripts/bench-clv

clean:
	rm -rf bin cdk.out
