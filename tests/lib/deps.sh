#!/usr/bin/env bash
# make deps: install the Debian packages Gatehouse builds and tests with, when any
# is missing (after apt-get update), and the pinned npm packages of tests/.
# (The second line of the list: make image and tests/image -- qemu, mmdebstrap, OVMF,
# the systemd-boot EFI stub, mtools, dosfstools, xorriso (an ISO 9660 config drive), sfdisk,
# debugfs, objcopy.)
set -eu
cd "$(dirname "$0")/../.."
pkgs="build-essential pkg-config libevent-dev libssl-dev libjson-c-dev libpq-dev
libldap2-dev node-llhttp libmaxminddb-dev libyaml-dev libjemalloc-dev postgresql-15 slapd ldap-utils
openssl curl python3-jwt libmaxmind-db-writer-perl wrk nginx haproxy iproute2 nftables chromium
qemu-system-x86 qemu-utils debootstrap mmdebstrap busybox-static cpio ovmf systemd-boot-efi mtools
dosfstools xorriso fdisk e2fsprogs binutils openssh-client"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
command -v node >/dev/null || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# slapd without its default database; never let it start a system server.
	echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
	mkdir -p /etc/ldap && touch /etc/ldap/noslapd
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
fi
if [ -f tests/package-lock.json ] && { [ ! -f tests/node_modules/.package-lock.json ] ||
	[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; }; then
	(cd tests && npm ci --no-audit --no-fund --silent)
fi
