#!/usr/bin/env bash
# Checks that the tools winback builds and tests with are installed:
# Go (the version go.mod asks for), Node.js 18+ with npm (SES and SQS emulators,
# CDK CLI), Java 17+ (DynamoDB Local), and curl, tar, flock, setsid, sha256sum.
# Chromium (the browser tests, internal/browser) is not required here: make
# chromium installs Debian's package when it can (as root, with apt-get), and
# this script only notes when it can't.
# Prints what to install for everything missing and exits 1; silent when all
# is there (set VERBOSE=1 to see the versions).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
missing=0
notes=()

fail() {
	printf 'check-tools: %s\n' "$*" >&2
	missing=$((missing + 1))
}

ok() {
	if [[ ${VERBOSE:-} == 1 ]]; then printf 'check-tools: ok: %s\n' "$*"; fi
}

# version_ge A B: dotted version A >= B.
version_ge() {
	local IFS=. i
	local -a a b
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	for ((i = 0; i < ${#b[@]} || i < ${#a[@]}; i++)); do
		local x=${a[i]:-0} y=${b[i]:-0}
		x=${x%%[!0-9]*} y=${y%%[!0-9]*}
		if ((10#${x:-0} != 10#${y:-0})); then
			((10#${x:-0} > 10#${y:-0}))
			return
		fi
	done
	return 0
}

# Go: at least the 'go' line of go.mod.
go_want=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$ROOT/go.mod" | head -n 1)
if ! command -v go >/dev/null 2>&1; then
	fail "Go ${go_want} or later is required: see https://go.dev/doc/install (Debian's golang package is too old)"
else
	# In the module, with GOTOOLCHAIN=auto, go switches to the toolchain go.mod asks for.
	go_have=$(cd "$ROOT" && { go env GOVERSION 2>/dev/null || true; })
	go_have=${go_have#go}
	if [[ -z $go_have ]] || ! version_ge "$go_have" "$go_want"; then
		fail "Go ${go_want} or later is required (go.mod), found '${go_have:-unknown}': see https://go.dev/doc/install, or let GOTOOLCHAIN=auto fetch it"
	else
		ok "go $go_have (go.mod: $go_want)"
	fi
fi

# Node.js 18+ and npm: the SES and SQS emulators and the CDK CLI (scripts/node).
if ! command -v node >/dev/null 2>&1; then
	fail "Node.js 18+ is required for the SES and SQS emulators and the CDK CLI: apt-get install nodejs npm (or see https://nodejs.org)"
else
	node_have=$(node --version 2>/dev/null || true)
	node_have=${node_have#v}
	if [[ -z $node_have ]] || ! version_ge "$node_have" 18; then
		fail "Node.js 18+ is required for the SES and SQS emulators and the CDK CLI, found '${node_have:-unknown}': see https://nodejs.org"
	else
		ok "node $node_have"
	fi
fi
if ! command -v npm >/dev/null 2>&1; then
	fail "npm is required to install the pinned Node tooling (scripts/node): apt-get install npm"
else
	ok "npm"
fi

# Java 17+: DynamoDB Local.
if ! command -v java >/dev/null 2>&1; then
	fail "Java 17+ is required to run DynamoDB Local: apt-get install openjdk-17-jre-headless (openjdk-17-jdk-headless also lets it bind to 127.0.0.1 only)"
else
	# First line: openjdk version "17.0.15" 2025-04-15 (or "1.8.0_392" before Java 9).
	java_have=$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
	java_major=${java_have%%.*}
	[[ $java_major == 1 ]] && java_major=$(cut -d. -f2 <<<"$java_have")
	if [[ -z $java_major ]] || ! version_ge "$java_major" 17; then
		fail "Java 17+ is required to run DynamoDB Local, found '${java_have:-unknown}': apt-get install openjdk-17-jre-headless"
	else
		ok "java $java_have"
		java_dir=$(dirname "$(readlink -f "$(command -v java)")")
		if [[ ! -x $java_dir/javac ]]; then
			notes+=("no JDK next to $(command -v java): DynamoDB Local will listen on all interfaces instead of 127.0.0.1 only (apt-get install openjdk-17-jdk-headless to fix)")
		fi
	fi
fi

# Small POSIX tools the stack script uses.
declare -A hints=(
	[curl]="apt-get install curl"
	[tar]="apt-get install tar"
	[flock]="apt-get install util-linux"
	[setsid]="apt-get install util-linux"
	[sha256sum]="apt-get install coreutils"
)
for tool in curl tar flock setsid sha256sum; do
	if command -v "$tool" >/dev/null 2>&1; then
		ok "$tool"
	else
		fail "$tool is required by scripts/stack.sh: ${hints[$tool]}"
	fi
done

# Chromium: the browser test (make test; make demo --screenshot). scripts/install-chromium.sh
# (make chromium) installs it as root with apt-get; note it when that can't.
if chromium=$("$ROOT/scripts/install-chromium.sh" --find 2>/dev/null); then
	ok "chromium $chromium"
elif [[ -n ${CHROMIUM:-} ]]; then
	notes+=("CHROMIUM=$CHROMIUM is not an executable: make test needs Chromium for the browser test (make demo only with --screenshot); unset CHROMIUM or point it at Chromium")
elif [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
	ok "chromium: not installed yet; make chromium installs Debian's package"
else
	notes+=("Chromium not found; make test needs it for the browser test (make demo only with --screenshot): on Debian/Ubuntu \`sudo apt-get install chromium\`, or set CHROMIUM=/path/to/chrome")
fi

for n in "${notes[@]}"; do
	printf 'check-tools: note: %s\n' "$n" >&2
done
if ((missing > 0)); then
	printf 'check-tools: %d missing; install the above and run again (make tools)\n' "$missing" >&2
	exit 1
fi
