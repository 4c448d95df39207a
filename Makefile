# winback: make test (everything CI runs), make demo (the pipeline on local emulators).
SHELL := /bin/bash
# Every directory under functions/ (not its files, e.g. binaries_test.go).
FUNCTIONS := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))
# STACK is the CloudFormation stack make deploy, diff and destroy work on (the app's only stack).
STACK := Winback

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

## build: one linux/arm64 bootstrap per function into bin/<fn>/ (what infra/ packages), stripped and
##        reproducible (the same commit and Go give the same bytes); prints each size and SHA-256, and
##        writes bin/SHA256SUMS (check a build against it: cd bin && sha256sum -c SHA256SUMS)
build: $(addprefix build-,$(FUNCTIONS))
	@cd bin && sha256sum $(foreach f,$(FUNCTIONS),$(f)/bootstrap $(f)/zoneinfo.zip) >SHA256SUMS
	@cd bin && for f in $(FUNCTIONS); do \
	  printf 'bin/%-22s %10d bytes  sha256 %s\n' "$$f/bootstrap" "$$(stat -c %s "$$f/bootstrap")" "$$(sha256sum <"$$f/bootstrap" | cut -c1-64)"; \
	done
	@echo "bin/SHA256SUMS written; built with $$(go version bin/$(firstword $(FUNCTIONS))/bootstrap | cut -d' ' -f2)"

# scripts/build-function.sh is the one definition of a function's build (the
# flags, the toolchain, zoneinfo.zip beside the binary); functions/*_test.go
# build with it too.
build-%:
	@scripts/build-function.sh ./functions/$* bin/$*

# cdk: the CDK CLI pinned in scripts/node/package-lock.json (installed by `scripts/stack.sh install-cdk`)
CDK := scripts/node/node_modules/.bin/cdk

# NEEDS_AWS is what make diff, deploy and destroy say when the CDK CLI fails: most often, no credentials.
NEEDS_AWS = { echo "make $@: cdk failed (see above). make $@ works on the stack in your AWS account: it needs AWS credentials" \
  "(AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or aws sso login) and a region (AWS_REGION or the profile's);" \
  "'Unable to resolve AWS account' means there were none. make synth needs neither." >&2; exit 1; }

## synth: the CloudFormation templates into cdk.out/ (no AWS account, credentials or bootstrap needed)
synth: tools build
	@scripts/stack.sh install-cdk
	$(CDK) synth --quiet --output cdk.out

.PHONY: diff deploy destroy
## diff: what make deploy would change in the deployed stack (cdk diff); needs AWS credentials
diff: tools build
	@scripts/stack.sh install-cdk
	@$(CDK) diff $(STACK) --output cdk.out || $(NEEDS_AWS)

## deploy: build and deploy the stack to the AWS account of your credentials; its outputs (ApiUrl,
##         TableName, …) go to cdk-outputs.json, which scripts/smoke reads
#   needs AWS credentials and, once per account and region, `scripts/node/node_modules/.bin/cdk bootstrap`
deploy: tools build
	@scripts/stack.sh install-cdk
	$(CDK) deploy $(STACK) --output cdk.out --outputs-file cdk-outputs.json || $(NEEDS_AWS)

## destroy: delete the stack (cdk destroy asks first); the table stays, retained with deletion protection:
##          see the README's "Tear down"
destroy: tools build
	@scripts/stack.sh install-cdk
	$(CDK) destroy $(STACK) --output cdk.out || $(NEEDS_AWS)

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
