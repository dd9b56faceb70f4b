#!/usr/bin/env bash
# scripts/setup.sh: install everything pg_quorum needs on Debian 12.
#
# Idempotent: when every package is already installed it only checks (with
# dpkg-query) and returns in well under a second, without "apt-get update".
# Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

packages=(
	build-essential make pkg-config perl openssl
	postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
	libssl-dev libcmocka-dev
	libtap-parser-sourcehandler-pgtap-perl libipc-run-perl
	clang libclang-rt-14-dev
	tini nftables iproute2 util-linux strace
	haproxy prometheus curl
	graphviz
	# scripts/pg-build.sh: PostgreSQL 17 and 18 from source
	dpkg-dev bison flex libreadline-dev zlib1g-dev libicu-dev libxml2-dev
	liblz4-dev libzstd-dev uuid-dev libkrb5-dev libldap-dev libpam0g-dev
	libsystemd-dev libselinux1-dev
	# make deb
	debhelper postgresql-server-dev-all fakeroot
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#packages[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "setup: missing packages (${missing[*]}) and no sudo to install them; run this script as root" >&2
	exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "${missing[@]}" </dev/null
echo "setup: done"
