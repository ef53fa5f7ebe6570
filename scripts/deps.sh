#!/usr/bin/env bash
# Installs what Plenary's build, run and tests need on a Debian machine with
# Go, and starts the local services the tests use if they are not running.
# Idempotent: quick when everything is already there.
#
#   scripts/deps.sh           everything (make test)
#   scripts/deps.sh run       only what `make run` needs (node/npm for the web app, ffmpeg)
set -euo pipefail

mode=${1:-test}
say() { printf 'deps: %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then echo sudo; else
			say "need root (or sudo) to install: $*"; exit 1
		fi
	fi
}

# Debian packages: command -> package.
declare -A pkgs=(
	[ffmpeg]=ffmpeg          # HLS packaging (recorder)
	[ffprobe]=ffmpeg
	[chromium]=chromium      # browser end-to-end tests
	[promtool]=prometheus    # `promtool check metrics|rules`
	[xmllint]=libxml2-utils  # frab schedule XSD validation
	[redis-server]=redis-server
	[rabbitmq-server]=rabbitmq-server
	[node]=nodejs            # web app build, iCal parsing in tests
	[npm]=npm
)
if [ "$mode" = run ]; then
	# make run builds the web app with npm and records with ffmpeg.
	pkgs=([node]=nodejs [npm]=npm [ffmpeg]=ffmpeg)
fi

missing=()
for cmd in "${!pkgs[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	sudo=$(need_root "${missing[*]}")
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "$mode" = run ] && exit 0

# npm packages the tests run with node (ical.js parses our iCal export).
for dir in scheduler/schedule/testdata/icaljs; do
	if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
		say "npm ci in $dir"
		npm ci --prefix "$dir" --no-audit --no-fund --silent
	fi
done

# Local services for the integration tests.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	say "starting redis-server on 127.0.0.1:6379"
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
	say "starting rabbitmq-server on 127.0.0.1:5672"
	rabbitmq-server -detached
fi
# Wait for both, bounded.
for _ in $(seq 1 60); do
	if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
		exit 0
	fi
	sleep 1
done
say "redis or rabbitmq did not come up within 60s"
exit 1
