#!/usr/bin/env bash
# image/disk.sh BASEDIR ROOT OUTDIR NAME: the bootable disk from the root folder ROOT and
# the kernel and busybox in BASEDIR, without loop devices or mounts:
#   - a busybox initramfs (image/initramfs/init) with the modules that reach the root
#     file system (sorted cpio, times clamped, gzip -n);
#   - a unified kernel image: the systemd-boot EFI stub with kernel, initramfs, command
#     line and os-release as PE sections (objcopy), its PE time stamp set to
#     SOURCE_DATE_EPOCH; on the EFI system partition as \EFI\BOOT\BOOTX64.EFI, so any
#     UEFI firmware boots it with no boot entry (vfat made with mkfs.vfat -C --invariant,
#     filled with mcopy keeping the staged files' times);
#   - the root file system: mke2fs -d ROOT with fixed UUID and hash seed, times from
#     E2FSPROGS_FAKE_TIME, and every inode's times reset with a debugfs batch;
#   - a GPT disk in a plain file (sfdisk with fixed GUIDs, partitions placed with dd
#     conv=notrunc): OUTDIR/NAME.img, and OUTDIR/NAME.qcow2 (compressed).
set -euo pipefail
IMG=$(cd "$(dirname "$0")" && pwd)
base=$1 R=$2 out=$3 name=$4
: "${SOURCE_DATE_EPOCH:?set SOURCE_DATE_EPOCH}"
export TZ=UTC LC_ALL=C
work=$out/disk-work
rm -rf "$work"
mkdir -p "$work"
. "$base/kernel.env"
kver=$kernel_release
# uuid NAME: a fixed UUID for NAME in this image (the same in every build of it)
uuid() {
	printf '%s' "gatehouse-image:$GH_IMAGE_VERSION:$1" | sha256sum |
		sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\1-\2-4\3-8\4-\5/'
}
clamp() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# ---- initramfs ----
ir=$work/initramfs
mkdir -p "$ir/bin" "$ir/etc" "$ir/lib/modules" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/newroot"
install -m 0755 "$base/busybox" "$ir/bin/busybox"
install -m 0755 "$IMG/initramfs/init" "$ir/init"
mods="virtio_pci virtio_blk virtio_scsi virtio_net sd_mod nvme ahci ata_piix hv_vmbus hv_storvsc
xen_blkfront vmw_pvscsi ext4 crc32c_generic crc32c_intel qemu_fw_cfg autofs4"
md=$R/lib/modules/$kver
# resolve MODULE: its dependencies first (modules.dep), each once
declare -A seen=()
order=()
resolve() {
	local path deps d
	# module names treat - and _ alike (xen-blkfront.ko is xen_blkfront)
	path=$(awk -F: -v m="$1" '{ b = $1; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b) }
		b == m { print $1; exit }' "$md/modules.dep")
	[ -n "$path" ] || { tr '-' '_' <"$md/modules.builtin" | grep -q "/$1.ko$" && return 0
		echo "disk.sh: no module $1" >&2; exit 1; }
	[ -n "${seen[$path]:-}" ] && return 0
	seen[$path]=1
	deps=$(awk -F': ' -v p="$path" '$1 == p { print $2; exit }' "$md/modules.dep")
	for d in $deps; do resolve "$(basename "$d" .ko | tr '-' '_')"; done
	order+=("$path")
}
for m in $mods; do resolve "$m"; done
for p in "${order[@]}"; do
	mkdir -p "$ir/lib/modules/$(dirname "$p")"
	cp "$md/$p" "$ir/lib/modules/$p"
done
printf '%s\n' "${order[@]}" >"$ir/etc/modules.order"
clamp "$ir"
(cd "$ir" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -9 >"$work/initrd.img"

# ---- unified kernel image ----
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
cmdline="root=LABEL=gh-root rw console=tty0 console=ttyS0,115200n8 loglevel=4 systemd.gpt_auto=0"
printf '%s' "$cmdline" >"$work/cmdline"
cat >"$work/os-release" <<OSR
NAME="Gatehouse appliance"
ID=gatehouse
ID_LIKE=debian
VERSION_ID="$GH_IMAGE_VERSION"
PRETTY_NAME="Gatehouse appliance $GH_IMAGE_VERSION (Debian 12, Linux $kver)"
OSR
align=$((16#$(objdump -p "$stub" | awk '$1 == "SectionAlignment" { print $2 }')))
end=0
while read -r _ _ size vma _; do
	e=$((16#$vma + 16#$size)); [ $e -gt $end ] && end=$e
done < <(objdump -h "$stub" | awk 'NF == 7 && $1 ~ /^[0-9]+$/')
next_vma() { local x=$(( $1 + align - 1 )); echo $(( x - x % align )); }
osrel=$(next_vma $end)
cmdl=$(next_vma $((osrel + $(stat -c %s "$work/os-release"))))
linux=$(next_vma $((cmdl + $(stat -c %s "$work/cmdline"))))
initrd=$(next_vma $((linux + $(stat -c %s "$base/vmlinuz"))))
objcopy \
	--add-section .osrel="$work/os-release" --change-section-vma .osrel=$(printf 0x%x $osrel) \
	--add-section .cmdline="$work/cmdline" --change-section-vma .cmdline=$(printf 0x%x $cmdl) \
	--add-section .linux="$base/vmlinuz" --change-section-vma .linux=$(printf 0x%x $linux) \
	--add-section .initrd="$work/initrd.img" --change-section-vma .initrd=$(printf 0x%x $initrd) \
	"$stub" "$work/BOOTX64.EFI"
# objcopy writes the time of the build into the PE header (TimeDateStamp) and a checksum
# over it: the time becomes SOURCE_DATE_EPOCH and the checksum 0 (not checked by UEFI).
pe=$(od -An -tu4 -j 60 -N 4 "$work/BOOTX64.EFI" | tr -d ' ')
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)))"; }
le32 "$SOURCE_DATE_EPOCH" | dd of="$work/BOOTX64.EFI" bs=1 seek=$((pe + 8)) conv=notrunc status=none
le32 0 | dd of="$work/BOOTX64.EFI" bs=1 seek=$((pe + 24 + 64)) conv=notrunc status=none

# ---- EFI system partition (64 MiB FAT32) ----
mkdir -p "$work/esp/EFI/BOOT"
cp "$work/BOOTX64.EFI" "$work/esp/EFI/BOOT/BOOTX64.EFI"
clamp "$work/esp"
esp_mib=64
mkfs.vfat -C --invariant -F 32 -S 512 -s 1 -n ESP -i "$(uuid esp | cut -c1-8)" "$work/esp.img" $((esp_mib * 1024)) >/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -s -m -i "$work/esp.img" "$work/esp/EFI" ::/

# ---- root file system ----
used_mib=$(( $(du -s --apparent-size --block-size=1M "$R" | cut -f1) ))
inodes=$(find "$R" -xdev | wc -l)
root_mib=$(( (used_mib * 13 / 10 + 256 + 63) / 64 * 64 ))
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH MKE2FS_CONFIG=$IMG/mke2fs.conf \
	mke2fs -q -t ext4 -d "$R" -L gh-root -U "$(uuid root-fs)" -E "hash_seed=$(uuid root-hash),root_owner=0:0" \
	-N $((inodes * 2 + 16384)) -F "$work/root.img" "${root_mib}M" >/dev/null
# every inode's times: the build's time, not the time the files were copied
debugfs -R "stat <2>" "$work/root.img" >/dev/null 2>&1
ninodes=$(dumpe2fs -h "$work/root.img" 2>/dev/null | awk -F: '/^Inode count/ { gsub(/ /, "", $2); print $2 }')
free=$(dumpe2fs -h "$work/root.img" 2>/dev/null | awk -F: '/^Free inodes/ { gsub(/ /, "", $2); print $2 }')
t=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)
{
	for i in $(seq 1 $((ninodes - free + 64))); do
		for f in atime mtime ctime crtime; do echo "sif <$i> $f $t"; done
		for f in atime_extra mtime_extra ctime_extra crtime_extra; do echo "sif <$i> $f 0"; done
	done
} >"$work/times.debugfs"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH debugfs -w -f "$work/times.debugfs" "$work/root.img" >/dev/null 2>"$work/times.err" || true
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH e2fsck -fy "$work/root.img" >/dev/null 2>&1 || [ $? -le 1 ]
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH tune2fs -T "$t" -C 0 "$work/root.img" >/dev/null

# ---- GPT disk ----
esp_start=2048
esp_sectors=$((esp_mib * 2048))
root_start=$((esp_start + esp_sectors))
root_sectors=$((root_mib * 2048))
total=$(( (root_start + root_sectors + 2048) * 512 ))
disk=$out/$name.img
rm -f "$disk" "$disk.tmp"
truncate -s "$total" "$disk.tmp"
sfdisk -q --no-reread --no-tell-kernel "$disk.tmp" <<GPT
label: gpt
label-id: $(uuid disk)
first-lba: 2048
unit: sectors

start=$esp_start, size=$esp_sectors, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$(uuid esp-part), name="esp"
start=$root_start, size=$root_sectors, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$(uuid root-part), name="root-x86-64"
GPT
dd if="$work/esp.img" of="$disk.tmp" bs=1M seek=$((esp_start / 2048)) conv=notrunc,sparse status=none
dd if="$work/root.img" of="$disk.tmp" bs=1M seek=$((root_start / 2048)) conv=notrunc,sparse status=none
mv "$disk.tmp" "$disk"
rm -f "$out/$name.qcow2"
qemu-img convert -m 8 -f raw -O qcow2 -c -o compression_type=zlib "$disk" "$out/$name.qcow2.tmp"
mv "$out/$name.qcow2.tmp" "$out/$name.qcow2"
echo "disk: $disk ($((total / 1048576)) MiB: ESP ${esp_mib} MiB, root ${root_mib} MiB with ${used_mib} MiB used), UKI $(( $(stat -c %s "$work/BOOTX64.EFI") / 1024 )) KiB"
