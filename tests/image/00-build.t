#!/usr/bin/env bash
# make image from this checkout (cold on a clean clone: the Debian base is cached under
# build/image/cache only after a first build), within a bounded time, and what it made:
# the .deb (fields, Depends from the libraries, files, no build path inside, installs
# and runs in a Debian 12 chroot of the image's base), the GPT disk (an EFI system
# partition holding the unified kernel image as \EFI\BOOT\BOOTX64.EFI with its sections,
# an ext4 root labelled gh-root), the compressed qcow2, and the sha256 it printed.
. "$GH_ROOT/tests/lib/check.sh"
LIMIT=${GH_IMAGE_BUILD_LIMIT:-480}
mkdir -p "$GH_ROOT/tests/out/image"
log=$GH_ROOT/tests/out/image/build.log
start=$(date +%s)
"$GH_ROOT/image/build.sh" >"$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
check_eq "make image exits 0 (log tests/out/image/build.log)" 0 "$rc"
[ "$rc" = 0 ] || { tail -20 "$log"; check_done; exit 1; }
cached=$(grep -c 'Debian base: cached' "$log")
echo "image: built in $secs s ($([ "$cached" = 1 ] && echo "warm: Debian base from the cache" || echo "cold: Debian base built"))"
grep '^image: ' "$log"
check_ok "within $LIMIT s" test "$secs" -le "$LIMIT"
. "$GH_ROOT/tests/image/lib.sh"

# ---- the package ----
check_match "gatehouse_VERSION_amd64.deb" '/gatehouse_[0-9][^/]*_amd64\.deb$' "$IMG_DEB"
info=$(dpkg-deb -f "$IMG_DEB")
check_match "Package, Architecture" $'Package: gatehouse' "$info"
check_match "Architecture: amd64" 'Architecture: amd64' "$info"
check_match "Depends from dpkg-shlibdeps (libevent, libssl3, libpq5, libldap, libmaxminddb)" \
	'Depends: .*libevent-2\.1-7.*libldap-2\.5-0.*libmaxminddb0.*libpq5.*libssl3' "$info"
files=$(dpkg-deb -c "$IMG_DEB" | awk '{print $6}')
for b in gatehouse gatehouse-keymanager gatehouse-publisher gatehouse-portal gatehouse-trafficmanager \
	gatehouse-gw-internal gatehouse-gw-external; do
	check_match "it holds /usr/bin/$b" "^\./usr/bin/$b$" "$files"
done
check_match "the systemd unit" '^\./lib/systemd/system/gatehouse\.service$' "$files"
check_match "the default configuration" '^\./usr/share/gatehouse/gatehouse\.conf$' "$files"
x=$GH_TMP/deb
dpkg-deb -x "$IMG_DEB" "$x"
check_eq "no file names the build folder" "" "$(grep -rl "$GH_ROOT" "$x" 2>/dev/null)"
check_eq "owners are root (dpkg-deb --root-owner-group)" "" "$(dpkg-deb -c "$IMG_DEB" | awk '$2 != "root/root"')"
# installs on a Debian 12 system: the image's own base, in a chroot
base=$(ls -d "$IMG_BUILD"/cache/base-*/ | head -1)
ch=$GH_TMP/chroot
mkdir -p "$ch"
tar -xpf "$base/rootfs.tar" -C "$ch" --numeric-owner
cp "$IMG_DEB" "$ch/tmp/g.deb"
check_ok "dpkg -i installs it on Debian 12 (a chroot of the base)" chroot "$ch" dpkg -i /tmp/g.deb
check_eq "its Depends are met" "install ok installed" "$(chroot "$ch" dpkg-query -W -f='${Status}' gatehouse)"
check_match "the installed node command runs" 'node\.role' "$(chroot "$ch" gatehouse check-config --list 2>&1)"
check_eq "postinst made the configuration 0600" 600 "$(stat -c %a "$ch/etc/gatehouse/gatehouse.conf")"
check_match "... which is valid" 'valid' "$(chroot "$ch" gatehouse check-config /etc/gatehouse/gatehouse.conf 2>&1)"
rm -rf "$ch"

# ---- the disk ----
check_match "a raw disk" '/gatehouse-[^/]*-amd64\.img$' "$IMG_DISK"
pt=$(sfdisk -d "$IMG_DISK" 2>/dev/null)
check_match "GPT" 'label: gpt' "$pt"
check_match "an EFI system partition" 'type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' "$pt"
check_match "a root partition of type root-x86-64" 'type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709' "$pt"
read -r es en < <(printf '%s\n' "$pt" | awk -F'[=,]' '/C12A7328/ { print $2 + 0, $4 + 0 }')
dd if="$IMG_DISK" of="$GH_TMP/esp.img" bs=512 skip="$es" count="$en" status=none
check_match "the ESP holds \\EFI\\BOOT\\BOOTX64.EFI" 'BOOTX64 +EFI' "$(MTOOLS_SKIP_CHECK=1 mdir -i "$GH_TMP/esp.img" ::/EFI/BOOT 2>&1)"
MTOOLS_SKIP_CHECK=1 mcopy -i "$GH_TMP/esp.img" ::/EFI/BOOT/BOOTX64.EFI "$GH_TMP/uki.efi"
secs_=$(objdump -h "$GH_TMP/uki.efi" | awk '$2 ~ /^\./ { print $2 }' | tr '\n' ' ')
for s in .osrel .cmdline .linux .initrd; do check_match "the UKI has $s" "(^| )\\$s( |$)" "$secs_"; done
objcopy -O binary --only-section=.cmdline "$GH_TMP/uki.efi" "$GH_TMP/cmdline"
check_match "its command line: root by label, serial console" 'root=LABEL=gh-root .*console=ttyS0' "$(tr -d '\0' <"$GH_TMP/cmdline")"
check_match "it is a PE image of the systemd-boot stub" 'pei-x86-64' "$(objdump -f "$GH_TMP/uki.efi")"
read -r rs rn < <(printf '%s\n' "$pt" | awk -F'[=,]' '/4F68BCE3/ { print $2 + 0, $4 + 0 }')
dd if="$IMG_DISK" of="$GH_TMP/root.ext4" bs=512 skip="$rs" count="$rn" conv=sparse status=none
check_match "an ext4 root labelled gh-root" 'Filesystem volume name: +gh-root' "$(dumpe2fs -h "$GH_TMP/root.ext4" 2>/dev/null)"
check_ok "it checks clean (e2fsck -n)" e2fsck -fn "$GH_TMP/root.ext4"
check_match "with Gatehouse installed (/usr/bin/gatehouse-gw-external)" 'gatehouse-gw-external' \
	"$(debugfs -R 'ls -l /usr/bin' "$GH_TMP/root.ext4" 2>/dev/null)"
rel=$(debugfs -R 'cat /usr/lib/gatehouse/image-release' "$GH_TMP/root.ext4" 2>/dev/null)
check_match "image-release names the kernel package chosen at build time" 'KERNEL_PACKAGE=linux-image-[0-9.]+-[0-9]+-amd64' "$rel"
kver=$(printf '%s\n' "$rel" | sed -n 's/^KERNEL_PACKAGE=linux-image-//p')
check_match "and the kernel's modules are in the root file system" 'virtio_net\.ko' \
	"$(debugfs -R "ls /usr/lib/modules/$kver/kernel/drivers/net" "$GH_TMP/root.ext4" 2>/dev/null)"
echo "$rel" | sed 's/^/  /'
rm -f "$GH_TMP/root.ext4" "$GH_TMP/esp.img"
info=$(qemu-img info "$IMG_QCOW")
check_match "a qcow2 beside it" 'file format: qcow2' "$info"
check_ok "qemu-img check passes" qemu-img check -q "$IMG_QCOW"
check_ok "the qcow2 is compressed (smaller than the disk's used bytes)" test \
	"$(stat -c %s "$IMG_QCOW")" -lt "$(du -B1 "$IMG_DISK" | cut -f1)"
check_ok "the qcow2 holds the same disk" qemu-img compare -q -f raw -F qcow2 "$IMG_DISK" "$IMG_QCOW"
sum=$(sha256sum "$IMG_DISK" | cut -d' ' -f1)
check_match "make image printed the disk's sha256" "sha256 $sum" "$(cat "$log")"
check_done
