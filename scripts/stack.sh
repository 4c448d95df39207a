#!/usr/bin/env bash
# The local stack: DynamoDB Local, the SES emulator (aws-ses-v2-local) and the
# SQS emulator (local-aws-sqs), pinned, installed into the repository and run
# on loopback only.
#
#   scripts/stack.sh install        npm ci in scripts/node (when stale) and DynamoDB Local into .local/dynamodb
#   scripts/stack.sh install-cdk    the pinned CDK CLI (npm ci in scripts/node, when stale)
#   scripts/stack.sh install-kms    the KMS emulator (local-kms, pinned in scripts/local-kms/go.mod) into .local/bin
#   scripts/stack.sh up             start all three in the background
#                                   (127.0.0.1:$DYNAMODB_PORT, 127.0.0.1:$SES_PORT, 127.0.0.1:$SQS_PORT)
#   scripts/stack.sh down           stop them
#   scripts/stack.sh status         what runs
#   scripts/stack.sh run-dynamodb PORT   DynamoDB Local in the foreground (used by up and by internal/emulator)
#   scripts/stack.sh run-ses PORT        the SES emulator in the foreground (idem)
#   scripts/stack.sh run-sqs PORT        the SQS emulator in the foreground (idem; scripts/node/sqs-server.js)
#   scripts/stack.sh run-kms PORT        the KMS emulator in the foreground, fresh keys each start (used by
#                                        internal/emulator; not part of up: make demo seals with the development key)
#
# Environment: DYNAMODB_PORT (default 8000), SES_PORT (default 8005),
# SQS_PORT (default 8010), DYNAMODB_JAVA_OPTS (JVM options for DynamoDB
# Local, see cmd_run_dynamodb).
# Everything lands in .local/ (gitignored): dynamodb/ (the emulator),
# bin/local-kms, run/ (pid and log files, the KMS emulator's keys), install.lock.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL="$ROOT/.local"
NODE_DIR="$ROOT/scripts/node"
DDB_DIR="$LOCAL/dynamodb"
RUN_DIR="$LOCAL/run"
LAUNCHER_SRC="$ROOT/scripts/dynamodb-local/LoopbackDynamoDBLocal.java"

# DynamoDB Local 1.25.1 as shipped in this npm package (only its tarball is
# fetched, with npm pack). The integrity is npm's dist.integrity for it.
DDB_PACKAGE="amplify-dynamodb-simulator"
DDB_PACKAGE_VERSION="2.9.30"
DDB_INTEGRITY="sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=="

DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
SES_PORT=${SES_PORT:-8005}
SQS_PORT=${SQS_PORT:-8010}
HOST=127.0.0.1

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
	printf 'stack: error: %s\n' "$*" >&2
	exit 1
}

need() {
	local cmd=$1 hint=$2
	command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found. $hint (scripts/check-tools.sh checks everything)"
}

need_java() { need java "Java 17+ is required to run DynamoDB Local: apt-get install openjdk-17-jre-headless"; }
need_node() { need node "Node.js 18+ and npm are required for the SES and SQS emulators and the CDK CLI: apt-get install nodejs npm"; }
need_npm() { need npm "npm is required to install the pinned Node tooling: apt-get install npm"; }

# lock serialises installs: several 'go test' packages may call install at once.
lock() {
	mkdir -p "$LOCAL"
	need flock "flock (util-linux) is required: apt-get install util-linux"
	exec 9>"$LOCAL/install.lock"
	flock 9
}

# --- Node tooling (aws-ses-v2-local, local-aws-sqs, aws-cdk) -----------------

lock_sum() { sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1; }

# node_modules_fresh: node_modules matches package-lock.json. A stamp written
# after our own npm ci answers quickly; otherwise npm's hidden lockfile
# (node_modules/.package-lock.json) is compared package by package, and each
# package's own package.json must be there with that version: npm install
# --package-lock-only rewrites the hidden lockfile without installing anything.
node_modules_fresh() {
	local stamp="$NODE_DIR/node_modules/.winback-lock.sha256" sum
	sum=$(lock_sum)
	[[ -f $stamp && $(<"$stamp") == "$sum" ]] && return 0
	[[ -f "$NODE_DIR/node_modules/.package-lock.json" ]] || return 1
	if (cd "$NODE_DIR" && node -e '
		const want = require("./package-lock.json").packages;
		const have = require("./node_modules/.package-lock.json").packages;
		for (const [k, v] of Object.entries(want)) {
			if (k === "") continue;
			const h = have[k];
			if (!h) { if (v.optional) continue; process.exit(1); }
			if (h.version !== v.version || h.integrity !== v.integrity) process.exit(1);
			if (v.link) continue;
			let on;
			try { on = require("./" + k + "/package.json"); } catch { if (v.optional) continue; process.exit(1); }
			if (on.version !== v.version) process.exit(1);
		}' 2>/dev/null); then
		printf '%s\n' "$sum" >"$stamp"
		return 0
	fi
	return 1
}

install_node_modules() {
	need_node
	need_npm
	need sha256sum "sha256sum (coreutils) is required"
	node_modules_fresh && return 0
	log "npm ci in scripts/node (aws-ses-v2-local, local-aws-sqs, aws-cdk; pinned by package-lock.json)"
	# --include=dev: the tools are devDependencies, and NODE_ENV=production would drop them.
	(cd "$NODE_DIR" && npm ci --include=dev --no-audit --no-fund --loglevel=error) ||
		die "npm ci in scripts/node failed (is the npm registry reachable?)"
	lock_sum >"$NODE_DIR/node_modules/.winback-lock.sha256"
}

# --- DynamoDB Local -----------------------------------------------------------

ddb_marker() { printf '%s@%s %s\n' "$DDB_PACKAGE" "$DDB_PACKAGE_VERSION" "$DDB_INTEGRITY"; }

ddb_installed() {
	[[ -f "$DDB_DIR/DynamoDBLocal.jar" && -d "$DDB_DIR/DynamoDBLocal_lib" && -f "$DDB_DIR/.installed" &&
		$(<"$DDB_DIR/.installed") == "$(ddb_marker)" ]]
}

install_dynamodb() {
	ddb_installed && return 0
	need_node
	need_npm
	need tar "tar is required: apt-get install tar"
	local tmp tgz got
	rm -rf "$LOCAL"/dynamodb.tmp.* # left by an install that was killed (we hold the lock)
	tmp=$(mktemp -d "$LOCAL/dynamodb.tmp.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	log "fetching $DDB_PACKAGE@$DDB_PACKAGE_VERSION with npm pack (~56 MB, DynamoDB Local 1.25.1)"
	(cd "$tmp" && npm pack "$DDB_PACKAGE@$DDB_PACKAGE_VERSION" --loglevel=error >/dev/null) ||
		die "npm pack $DDB_PACKAGE@$DDB_PACKAGE_VERSION failed (is the npm registry reachable?)"
	tgz="$tmp/$DDB_PACKAGE-$DDB_PACKAGE_VERSION.tgz"
	[[ -f $tgz ]] || die "npm pack did not write $tgz"
	got="sha512-$(node -e '
		const h = require("crypto").createHash("sha512");
		h.update(require("fs").readFileSync(process.argv[1]));
		process.stdout.write(h.digest("base64"));' "$tgz")"
	[[ $got == "$DDB_INTEGRITY" ]] || die "integrity mismatch for $tgz: got $got, want $DDB_INTEGRITY"
	tar -xzf "$tgz" -C "$tmp" \
		package/emulator/DynamoDBLocal.jar package/emulator/DynamoDBLocal_lib \
		package/emulator/LICENSE.txt package/emulator/THIRD-PARTY-LICENSES.txt
	ddb_marker >"$tmp/package/emulator/.installed"
	rm -rf "$DDB_DIR"
	mv "$tmp/package/emulator" "$DDB_DIR"
	rm -rf "$tmp"
	trap - EXIT
	log "DynamoDB Local installed in .local/dynamodb ($(du -sh "$DDB_DIR" | cut -f1))"
}

# javac_for_java: the javac of the JDK that 'java' belongs to, if any.
javac_for_java() {
	local java_bin
	java_bin=$(readlink -f "$(command -v java)")
	if [[ -x "$(dirname "$java_bin")/javac" ]]; then
		printf '%s\n' "$(dirname "$java_bin")/javac"
	fi
}

# install_launcher compiles LoopbackDynamoDBLocal (binds DynamoDB Local to
# 127.0.0.1 only) when a JDK is there; without one the plain jar is used.
install_launcher() {
	local out="$DDB_DIR/launcher" class javac
	class="$out/LoopbackDynamoDBLocal.class"
	[[ -f $class && $class -nt $LAUNCHER_SRC && $class -nt "$DDB_DIR/.installed" ]] && return 0
	need_java
	javac=$(javac_for_java)
	if [[ -z $javac ]]; then
		log "note: no javac next to $(command -v java): DynamoDB Local will listen on all interfaces, not only $HOST" \
			"(apt-get install openjdk-17-jdk-headless to bind it to $HOST)"
		return 0
	fi
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	if "$javac" -nowarn -d "$out.tmp" -cp "$DDB_DIR/DynamoDBLocal.jar:$DDB_DIR/DynamoDBLocal_lib/*" "$LAUNCHER_SRC" >&2; then
		rm -rf "$out"
		mv "$out.tmp" "$out"
	else
		rm -rf "$out.tmp"
		log "note: could not compile $LAUNCHER_SRC: DynamoDB Local will listen on all interfaces"
	fi
}

cmd_install() {
	lock
	install_node_modules
	install_dynamodb
	install_launcher
}

cmd_install_cdk() {
	lock
	install_node_modules
	[[ -x "$NODE_DIR/node_modules/.bin/cdk" ]] || die "scripts/node/node_modules/.bin/cdk missing after npm ci"
}

# --- KMS emulator (local-kms) -------------------------------------------------

KMS_SRC="$ROOT/scripts/local-kms"
KMS_BIN="$LOCAL/bin/local-kms"

# kms_installed: the binary is newer than its launcher's source and pins.
kms_installed() {
	[[ -x $KMS_BIN && $KMS_BIN -nt "$KMS_SRC/main.go" && $KMS_BIN -nt "$KMS_SRC/go.mod" && $KMS_BIN -nt "$KMS_SRC/go.sum" ]]
}

# install_kms builds scripts/local-kms (github.com/nsmithuk/local-kms served on
# 127.0.0.1 only; its own main listens on every interface) with the Go module
# proxy, into .local/bin. About a minute on 2 cores the first time.
install_kms() {
	kms_installed && return 0
	need go "Go is required to build the KMS emulator"
	log "building the KMS emulator (github.com/nsmithuk/local-kms, pinned in scripts/local-kms/go.mod) into .local/bin"
	# Built beside the final place and renamed into it: a test that sees
	# the binary never runs a half-written one.
	local tmp="$LOCAL/bin/.local-kms.tmp.$$"
	mkdir -p "$LOCAL/bin"
	(cd "$KMS_SRC" && GOWORK=off GOFLAGS=-mod=readonly go build -trimpath -o "$tmp" .) ||
		{ rm -f "$tmp"; die "go build of the KMS emulator failed (is the Go module proxy reachable?)"; }
	mv -f "$tmp" "$KMS_BIN"
}

cmd_install_kms() {
	lock
	install_kms
}

# cmd_run_kms: the KMS emulator on 127.0.0.1:PORT with an empty key database
# (.local/run/kms-PORT, wiped at start; databases left by killed runs for a
# day are removed).
cmd_run_kms() {
	local port=${1:-}
	check_port "$port"
	[[ -x $KMS_BIN ]] || die "the KMS emulator is not installed: run scripts/stack.sh install-kms"
	mkdir -p "$RUN_DIR"
	find "$RUN_DIR" -maxdepth 1 -name 'kms-*' -type d -mtime +0 -exec rm -rf {} + 2>/dev/null || true
	rm -rf "$RUN_DIR/kms-$port"
	exec "$KMS_BIN" "$port" "$RUN_DIR/kms-$port"
}

# --- running ----------------------------------------------------------------

check_port() {
	if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then
		die "bad port '$1'"
	fi
}

cmd_run_dynamodb() {
	local port=${1:-}
	check_port "$port"
	need_java
	[[ -f "$DDB_DIR/DynamoDBLocal.jar" ]] || die "DynamoDB Local is not installed: run scripts/stack.sh install"
	cd "$DDB_DIR"
	local args=(-port "$port" -inMemory -sharedDb -disableTelemetry) jopts=()
	# C1 only and the serial GC halve the CPU the JVM needs to start (tests
	# start one per package on a 2-core machine), for ~15% less steady-state
	# throughput. DYNAMODB_JAVA_OPTS replaces them ("" for the JVM defaults).
	read -r -a jopts <<<"${DYNAMODB_JAVA_OPTS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"
	if [[ -f launcher/LoopbackDynamoDBLocal.class ]]; then
		exec java "${jopts[@]}" -Djava.library.path=DynamoDBLocal_lib -Dwinback.host="$HOST" \
			-cp launcher:DynamoDBLocal.jar LoopbackDynamoDBLocal "${args[@]}"
	fi
	log "note: DynamoDB Local listens on all interfaces (no loopback launcher; see scripts/stack.sh install)"
	exec java "${jopts[@]}" -Djava.library.path=DynamoDBLocal_lib -jar DynamoDBLocal.jar "${args[@]}"
}

cmd_run_ses() {
	local port=${1:-}
	check_port "$port"
	need_node
	local cli="$NODE_DIR/node_modules/aws-ses-v2-local/dist/cli.js"
	[[ -f $cli ]] || die "aws-ses-v2-local is not installed: run scripts/stack.sh install"
	exec node "$cli" --host "$HOST" --port "$port"
}

# cmd_run_sqs: local-aws-sqs through scripts/node/sqs-server.js (the package
# is a library, not a CLI). It exits on SIGTERM/SIGINT; queues are in memory.
cmd_run_sqs() {
	local port=${1:-}
	check_port "$port"
	need_node
	[[ -f "$NODE_DIR/node_modules/local-aws-sqs/dist/index.js" ]] ||
		die "local-aws-sqs is not installed: run scripts/stack.sh install"
	exec node "$NODE_DIR/sqs-server.js" "$port"
}

# ready NAME PORT: the emulator answers a real request.
ready() {
	local name=$1 port=$2
	case $name in
	dynamodb)
		curl -fsS -m 2 -o /dev/null -X POST "http://$HOST:$port/" \
			-H 'Content-Type: application/x-amz-json-1.0' \
			-H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
			-H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
			-d '{}' 2>/dev/null
		;;
	ses) curl -fsS -m 2 -o /dev/null "http://$HOST:$port/health-check" 2>/dev/null ;;
	sqs)
		curl -fsS -m 2 -o /dev/null -X POST "http://$HOST:$port/" \
			-H 'Content-Type: application/x-amz-json-1.0' \
			-H 'X-Amz-Target: AmazonSQS.ListQueues' \
			-d '{}' 2>/dev/null
		;;
	esac
}

# port_busy PORT: something accepts connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# cmdline PID: the command line of PID.
cmdline() {
	if [[ -r /proc/$1/cmdline ]]; then
		tr '\0' ' ' <"/proc/$1/cmdline"
	else
		ps -o args= -p "$1" 2>/dev/null
	fi
}

# our_pid NAME: the pid from NAME's pid file if that process is still our emulator.
our_pid() {
	local name=$1 pidfile="$RUN_DIR/$1.pid" pid want
	[[ -f $pidfile ]] || return 1
	pid=$(<"$pidfile")
	# Before its exec the process is still 'stack.sh run-NAME'.
	case $name in
	dynamodb) want='run-dynamodb|DynamoDBLocal' ;;
	ses) want='run-ses|aws-ses-v2-local' ;;
	sqs) want='run-sqs|sqs-server\.js' ;;
	esac
	if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && cmdline "$pid" | grep -Eq "$want"; then
		printf '%s\n' "$pid"
		return 0
	fi
	rm -f "$pidfile" "$RUN_DIR/$name.port"
	return 1
}

# check_free NAME PORT: fail unless PORT is free or NAME (ours) already runs there.
check_free() {
	local name=$1 port=$2 pid was
	if pid=$(our_pid "$name"); then
		was=$(cat "$RUN_DIR/$name.port" 2>/dev/null || echo "?")
		[[ $was == "$port" ]] || die "$name already runs (pid $pid) on port $was, not $port: scripts/stack.sh down first"
		return 0
	fi
	if port_busy "$port"; then
		if command -v ss >/dev/null 2>&1; then
			ss -ltnpH "sport = :$port" 2>/dev/null | head -n 3 >&2 || true
		fi
		die "port $port (for $name) is already in use by another process: stop it, or choose other ports (DYNAMODB_PORT=... SES_PORT=... SQS_PORT=...)"
	fi
}

# start NAME PORT: start NAME in the background unless it already runs.
start() {
	local name=$1 port=$2 pid
	if pid=$(our_pid "$name"); then
		log "$name already running (pid $pid, http://$HOST:$port)"
		return 0
	fi
	mkdir -p "$RUN_DIR"
	# setsid: own session, so a Ctrl-C in this terminal does not reach it.
	# setsid does not fork here (not a group leader), so $! is the emulator's pid.
	setsid "$ROOT/scripts/stack.sh" "run-$name" "$port" </dev/null >"$RUN_DIR/$name.log" 2>&1 &
	printf '%s\n' "$!" >"$RUN_DIR/$name.pid"
	printf '%s\n' "$port" >"$RUN_DIR/$name.port"
}

# now_ms: wall clock in milliseconds.
now_ms() {
	local t=${EPOCHREALTIME/./}
	printf '%s\n' $((t / 1000))
}

# wait_ready NAME PORT SECONDS
wait_ready() {
	local name=$1 port=$2 secs=$3 t0 pid
	t0=$(now_ms)
	until ready "$name" "$port"; do
		if ! pid=$(our_pid "$name"); then
			tail -n 20 "$RUN_DIR/$name.log" >&2 || true
			die "$name exited during start-up (log: .local/run/$name.log)"
		fi
		if (($(now_ms) - t0 >= secs * 1000)); then
			tail -n 20 "$RUN_DIR/$name.log" >&2 || true
			die "$name did not answer on port $port within ${secs}s (pid $pid, log: .local/run/$name.log)"
		fi
		sleep 0.1
	done
	log "$name ready: http://$HOST:$port (waited $(($(now_ms) - t0)) ms)"
}

cmd_up() {
	check_port "$DYNAMODB_PORT"
	check_port "$SES_PORT"
	check_port "$SQS_PORT"
	[[ $DYNAMODB_PORT != "$SES_PORT" ]] || die "DYNAMODB_PORT and SES_PORT are both $SES_PORT"
	[[ $DYNAMODB_PORT != "$SQS_PORT" ]] || die "DYNAMODB_PORT and SQS_PORT are both $SQS_PORT"
	[[ $SES_PORT != "$SQS_PORT" ]] || die "SES_PORT and SQS_PORT are both $SQS_PORT"
	need curl "curl is required: apt-get install curl"
	need setsid "setsid (util-linux) is required: apt-get install util-linux"
	need_java
	need_node
	(cmd_install)
	check_free dynamodb "$DYNAMODB_PORT"
	check_free ses "$SES_PORT"
	check_free sqs "$SQS_PORT"
	start dynamodb "$DYNAMODB_PORT"
	start ses "$SES_PORT"
	start sqs "$SQS_PORT"
	wait_ready dynamodb "$DYNAMODB_PORT" 90
	wait_ready ses "$SES_PORT" 30
	wait_ready sqs "$SQS_PORT" 30
	log "DYNAMODB_ENDPOINT=http://$HOST:$DYNAMODB_PORT SES_ENDPOINT=http://$HOST:$SES_PORT SQS_ENDPOINT=http://$HOST:$SQS_PORT" \
		"(logs in .local/run/; scripts/stack.sh down stops them)"
}

stop() {
	local name=$1 pid i
	if ! pid=$(our_pid "$name"); then
		log "$name not running"
		return 0
	fi
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name (pid $pid) ignored SIGTERM: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.port"
	log "$name stopped (pid $pid)"
}

cmd_down() {
	stop dynamodb
	stop ses
	stop sqs
}

cmd_status() {
	local name pid port state rc=0
	for name in dynamodb ses sqs; do
		if pid=$(our_pid "$name"); then
			port=$(cat "$RUN_DIR/$name.port" 2>/dev/null || echo "?")
			state="not answering"
			ready "$name" "$port" && state="ready"
			printf '%-9s running  pid %-7s http://%s:%s  %s\n' "$name" "$pid" "$HOST" "$port" "$state"
		else
			printf '%-9s stopped\n' "$name"
			rc=3
		fi
	done
	if ddb_installed; then
		printf 'installed: DynamoDB Local (%s@%s)%s\n' "$DDB_PACKAGE" "$DDB_PACKAGE_VERSION" \
			"$([[ -f "$DDB_DIR/launcher/LoopbackDynamoDBLocal.class" ]] && echo ", loopback launcher" || echo ", no loopback launcher")"
	else
		printf 'not installed: DynamoDB Local (scripts/stack.sh install)\n'
	fi
	return "$rc"
}

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	install) cmd_install ;;
	install-cdk) cmd_install_cdk ;;
	install-kms) cmd_install_kms ;;
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	run-dynamodb) cmd_run_dynamodb "$@" ;;
	run-ses) cmd_run_ses "$@" ;;
	run-sqs) cmd_run_sqs "$@" ;;
	run-kms) cmd_run_kms "$@" ;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
