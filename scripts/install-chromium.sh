#!/usr/bin/env bash
# Finds the Chromium the browser tests drive (internal/browser) and prints its
# path; installs Debian's chromium package when there is none and it can.
#
# Looks, in order, at $CHROMIUM, /usr/bin/chromium, then chromium,
# chromium-browser, google-chrome, google-chrome-stable on PATH (the same
# order as internal/browser.Find). When none is there and this runs as root
# with apt-get, it installs Debian's chromium package non-interactively
# (apt-get update first when the package lists don't know it). Otherwise it
# exits 1 saying what to install. Test tools' own browser downloads are not
# used: they fail where only the distribution's packages can be reached.
#
#   scripts/install-chromium.sh          find, or install, and print the path
#   scripts/install-chromium.sh --find   find only: print the path, or exit 1 silently
#
# Prints the path on stdout, everything else on stderr.
set -euo pipefail

log() { printf 'install-chromium: %s\n' "$*" >&2; }
die() {
	printf 'install-chromium: error: %s\n' "$*" >&2
	exit 1
}

HINT="install Chromium: on Debian/Ubuntu \`sudo apt-get install chromium\`, or set CHROMIUM=/path/to/chrome"

# find_chromium prints the first Chromium found and returns 1 when there is none.
find_chromium() {
	local c p
	if [[ -n ${CHROMIUM:-} ]]; then
		if p=$(command -v -- "$CHROMIUM" 2>/dev/null) && [[ -x $p ]]; then
			printf '%s\n' "$p"
			return 0
		fi
		die "CHROMIUM=$CHROMIUM is not an executable; unset it or point it at Chromium ($HINT)"
	fi
	if [[ -x /usr/bin/chromium ]]; then
		printf '%s\n' /usr/bin/chromium
		return 0
	fi
	for c in chromium chromium-browser google-chrome google-chrome-stable; do
		if p=$(command -v "$c" 2>/dev/null); then
			printf '%s\n' "$p"
			return 0
		fi
	done
	return 1
}

if find_chromium; then
	exit 0
fi
if [[ ${1:-} == --find ]]; then
	exit 1
fi

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	die "Chromium not found (looked at \$CHROMIUM, /usr/bin/chromium, chromium, chromium-browser, google-chrome, google-chrome-stable on PATH): $HINT"
fi

# Several 'make' runs may arrive here at once: one installs, the others wait.
# apt-get holds its own locks too, but would fail rather than wait for them.
lockdir=/var/lock
[[ -d $lockdir ]] || lockdir=/tmp
exec 9>"$lockdir/winback-install-chromium.lock"
command -v flock >/dev/null 2>&1 && flock 9
if find_chromium; then
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# run CMD...: runs quietly, shows the command's output only when it fails.
run() {
	if ! "$@" >"$out" 2>&1; then
		cat "$out" >&2
		die "'$*' failed; $HINT"
	fi
}

apt_install() { apt-get install -y -qq --no-install-recommends chromium >"$out" 2>&1; }

start=$SECONDS
updated=0
if ! apt-cache show chromium >/dev/null 2>&1; then
	log "apt-get update (the package lists don't know chromium yet)"
	run apt-get update -qq
	updated=1
fi
log "installing Debian's chromium package (once per machine: 25 packages, about 20 s with a warm mirror)"
if ! apt_install; then
	if ((updated)); then
		cat "$out" >&2
		die "apt-get install chromium failed; $HINT"
	fi
	# Package lists older than the mirror name files it no longer has.
	log "apt-get install failed; retrying after apt-get update"
	run apt-get update -qq
	run apt-get install -y -qq --no-install-recommends chromium
fi
find_chromium || die "apt-get installed chromium but no /usr/bin/chromium appeared; $HINT"
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium) in $((SECONDS - start))s"
