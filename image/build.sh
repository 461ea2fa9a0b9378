#!/usr/bin/env bash
# image/build.sh [OUTDIR]: `make image`.  Builds, into OUTDIR (build/image):
#   rel/bin/                       the release binaries (file names relative in debug info)
#   gatehouse_VERSION_amd64.deb    the package (image/deb.sh)
#   gatehouse-VERSION-amd64.img    the GPT disk (raw), and .qcow2 (compressed)
#   SHA256SUMS                     of the three; the disk's is printed
# The Debian base (mmdebstrap, kernel, busybox) is cached under OUTDIR/cache/base-KEY,
# KEY a hash of its inputs (package list, scripts, mirror lines and the mirror's
# InRelease dates as this machine last saw them, mmdebstrap's version).
# Reproducible: every time stamp is SOURCE_DATE_EPOCH (the commit's time for the node,
# the mirror's date for the base), so two builds from the same inputs give the same bytes.
set -euo pipefail
IMG=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$IMG")
OUT=$(mkdir -p "${1:-$ROOT/build/image}" && cd "${1:-$ROOT/build/image}" && pwd)
export TZ=UTC LC_ALL=C
[ "$(id -u)" = 0 ] || { echo "make image: run as root (chroot, device nodes, file owners)" >&2; exit 1; }
for t in mmdebstrap mke2fs debugfs mkfs.vfat mcopy sfdisk objcopy qemu-img cpio dpkg-deb dpkg-shlibdeps; do
	command -v $t >/dev/null || { echo "make image: $t is missing: make deps" >&2; exit 1; }
done
[ -f /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || { echo "make image: systemd-boot-efi is missing: make deps" >&2; exit 1; }
t0=$(date +%s)
lap() { echo "image: $1 ($(( $(date +%s) - t0 )) s)"; }

sde=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || true)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-${sde:-1700000000}}
# The product's version when its sources name one (GH_VERSION), else the commit's date and id.
version=$(sed -n 's/^#define GH_VERSION "\(.*\)".*/\1/p' "$ROOT"/appliance/core/*.h 2>/dev/null | head -1)
[ -n "$version" ] || version=0.0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d).$(git -C "$ROOT" rev-parse --short=10 HEAD 2>/dev/null || echo local)
export GH_IMAGE_VERSION=${GH_IMAGE_VERSION:-$version}

# the outputs of an earlier version go
rm -f "$OUT"/gatehouse_*_amd64.deb "$OUT"/gatehouse-*-amd64.img "$OUT"/gatehouse-*-amd64.qcow2 "$OUT/SHA256SUMS"

# 1. release binaries; debug information names files relative to the checkout and the
# build folder (the generated web-asset sources live there), so that the build ID, and
# the stripped binaries, are the same wherever the checkout and the output are.  (GCC
# applies the last matching map: the build folder's, which may lie inside the checkout.)
make -s -C "$ROOT" -j2 BUILD="$OUT/rel" OPT="-O2 -g -ffile-prefix-map=$ROOT=. -ffile-prefix-map=$OUT/rel=rel" all
lap "binaries"

# 2. the package
deb=$("$IMG/deb.sh" "$OUT/rel/bin" "$OUT" "$GH_IMAGE_VERSION")
lap "package $(basename "$deb")"

# 3. the Debian base, cached by its inputs
mirrors=$("$IMG/mirror.sh")
dates=$(while read -r _ uri suite _; do
	f=/var/lib/apt/lists/$(printf '%s' "${uri#*://}" | sed 's|/*$||; s|/|_|g')_dists_${suite}_InRelease
	[ -f "$f" ] && sed -n 's/^Date: //p' "$f"
done <<<"$mirrors")
base_sde=$(while read -r d; do [ -n "$d" ] && date -u -d "$d" +%s; done <<<"$dates" | sort -n | tail -1)
base_sde=${base_sde:-$SOURCE_DATE_EPOCH}
key=$( { cat "$IMG/packages" "$IMG/rootfs-base.sh" "$IMG/base-customize.sh"; echo "$mirrors"; echo "$dates";
	mmdebstrap --version; echo "$base_sde"; } | sha256sum | cut -c1-16)
base=$OUT/cache/base-$key
if [ -f "$base/done" ]; then
	lap "Debian base: cached ($base)"
else
	rm -rf "$OUT"/cache/base-*
	SOURCE_DATE_EPOCH=$base_sde "$IMG/rootfs-base.sh" "$base" >"$OUT/rootfs-base.log" 2>&1 ||
		{ tail -30 "$OUT/rootfs-base.log"; echo "make image: the Debian base failed (log: $OUT/rootfs-base.log)" >&2; exit 1; }
	touch "$base/done"
	lap "Debian base: built ($(. "$base/kernel.env"; echo "$kernel_package $kernel_version"))"
fi

# 4. the root file system, 5. the disk
"$IMG/rootfs.sh" "$base" "$deb" "$OUT/rootfs"
lap "root file system"
name=gatehouse-$GH_IMAGE_VERSION-amd64
"$IMG/disk.sh" "$base" "$OUT/rootfs" "$OUT" "$name"
lap "disk"
(cd "$OUT" && sha256sum "$(basename "$deb")" "$name.img" "$name.qcow2" >SHA256SUMS)
cat "$OUT/SHA256SUMS"
echo "image: $OUT/$name.img sha256 $(awk -v f="$name.img" '$2 == f { print $1 }' "$OUT/SHA256SUMS") ($(( $(date +%s) - t0 )) s)"
