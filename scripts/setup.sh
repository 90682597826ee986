#!/bin/sh
# Installs the Debian 12 packages nestvm needs to build, test and run its
# main job, if any is missing. Idempotent; run as root or with sudo
# available. Nothing is downloaded from anywhere but Debian's archive.
set -eu

PACKAGES="gcc libc6-dev binutils ninja-build libzydis-dev libcmocka-dev \
libunwind-dev linux-libc-dev gnuplot-nox bochs bochsbios vgabios clang \
libclang-rt-14-dev clang-format"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "setup: all packages present"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "setup: missing packages:$missing; run this script as root" >&2
	exit 1
fi

echo "setup: installing$missing"
$SUDO apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
