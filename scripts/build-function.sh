#!/usr/bin/env bash
# Builds one Lambda function as it is deployed: the only place that says how.
# make build runs it for every directory under functions/, and the tests in
# functions/ (sizes, reproducibility) run it too, so what they check is what
# ships.
#
#   scripts/build-function.sh PACKAGE OUTDIR
#     PACKAGE  a Go package path relative to the current directory (./functions/ingest)
#     OUTDIR   where to write bootstrap (the binary) and zoneinfo.zip (Go's zone database)
#
# The binary is linux/arm64 (provided.al2023 on Graviton), static (no cgo),
# built with -tags lambda.norpc (no net/rpc server), stripped (-s -w) and
# reproducible: the same sources and the same Go toolchain give the same
# bytes, whatever the checkout's path, the build cache or the machine.
#   -trimpath         no file system paths in the binary
#   -buildvcs=false   no VCS stamp: a stamp records whether the checkout has
#                     uncommitted or untracked files (vcs.modified) and would
#                     change the bytes, and with them every function's asset
#                     hash, on every commit, even for functions whose code did
#                     not change. The Go toolchain's own GOFLAGS or a go env
#                     setting cannot turn it back on: flags on the command line win.
# The toolchain is part of the input: the version go.mod's go line names.
# When the local go is another version, GOTOOLCHAIN makes the go command
# fetch and use exactly that one (once; it lands in the module cache).
#
# The zone database ships beside the binary (infra/ points ZONEINFO at it):
# provided.al2023 has none, and embedding time/tzdata would add 450 KB to
# every binary.
set -euo pipefail

if [[ $# -ne 2 ]]; then
	echo "usage: scripts/build-function.sh PACKAGE OUTDIR" >&2
	exit 2
fi
pkg=$1 out=$2

# The toolchain go.mod names: go.mod is looked up from the current directory
# (not with go env, which fails when the local go is older than go.mod asks).
dir=$PWD
while [[ ! -f $dir/go.mod ]]; do
	if [[ $dir == / ]]; then
		echo "build-function: run it inside the winback module (no go.mod in $PWD or above)" >&2
		exit 1
	fi
	dir=$(dirname "$dir")
done
want=go$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' "$dir/go.mod")
if [[ $want != go && $(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null || true) != "$want" ]]; then
	export GOTOOLCHAIN=$want
fi

mkdir -p "$out"
GOOS=linux GOARCH=arm64 GOARM64=v8.0 CGO_ENABLED=0 \
	go build -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w" -o "$out/bootstrap" "$pkg"
cp "$(go env GOROOT)/lib/time/zoneinfo.zip" "$out/zoneinfo.zip"
chmod 0644 "$out/zoneinfo.zip"
