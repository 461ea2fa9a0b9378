#!/usr/bin/env bash
# image/rootfs-base.sh OUTDIR: OUTDIR/rootfs.tar, the Debian 12 base of the appliance's root filesystem,
# made by mmdebstrap (variant minbase + image/packages) from the mirror the build
# machine's apt sources name (image/mirror.sh), as a reproducible tarball (mmdebstrap
# clamps times to SOURCE_DATE_EPOCH, which the caller sets).  Everything that does not
# depend on Gatehouse's own code is here, so build.sh caches it keyed by its inputs:
# the kernel (chosen now from linux-image-amd64, unpacked without initramfs-tools), its
# modules, busybox for the initramfs, PostgreSQL 15 and slapd without any database, no SSH host keys.
set -euo pipefail
IMG=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
export GH_BASE_OUT=$out
: "${SOURCE_DATE_EPOCH:?set SOURCE_DATE_EPOCH}"
mapfile -t mirrors < <("$IMG/mirror.sh")
pkgs=$(sed -e 's/#.*//' "$IMG/packages" | tr -s ' \n' '\n' | grep . | paste -sd,)
rm -f "$out/rootfs.tar.tmp"
# No manual pages, translations, locale sources or documentation but the copyright
# files; no LLVM (135 MB that only PostgreSQL's JIT would load: the embedded cluster runs
# with jit = off); slapd
# without its default database (the all-in-one node makes its own under
# /var/lib/gatehouse); the rest of the preparation is image/base-customize.sh.
mmdebstrap --mode=root --variant=minbase --format=tar --include="$pkgs" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/lintian/*' \
	--dpkgopt='path-exclude=/usr/share/i18n/locales/*' \
	--dpkgopt='path-exclude=/usr/share/i18n/charmaps/*' \
	--dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/libLLVM-*' \
	--dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/libz3.so*' \
	--dpkgopt='path-exclude=/usr/lib/postgresql/15/lib/llvmjit*' \
	--dpkgopt='path-exclude=/usr/lib/postgresql/15/lib/bitcode/*' \
	--essential-hook='echo "slapd slapd/no_configuration boolean true" | chroot "$1" debconf-set-selections' \
	--customize-hook="\"$IMG/base-customize.sh\" \"\$1\"" \
	bookworm "$out/rootfs.tar.tmp" "${mirrors[@]}"
mv "$out/rootfs.tar.tmp" "$out/rootfs.tar"
