#!/usr/bin/env bash
# image/base-customize.sh ROOT: mmdebstrap's customize hook of image/rootfs-base.sh.
#   - the kernel: the package that linux-image-amd64 depends on in the mirror, chosen now,
#     unpacked (no initramfs-tools, no package registration: the image's kernel changes
#     with a new image): its modules into ROOT (without those the appliance cannot use;
#     depmod), vmlinuz, its config and busybox-static (for the initramfs) into
#     $GH_BASE_OUT with kernel.env naming their versions;
#   - no PostgreSQL cluster, no slapd database, no SSH host keys, no snakeoil
#     certificate: each node makes its own at first boot;
#   - files that differ between two builds are removed.
set -euo pipefail
R=$1
out=${GH_BASE_OUT:?set GH_BASE_OUT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kpkg=$(APT_CONFIG=$MMDEBSTRAP_APT_CONFIG apt-cache depends linux-image-amd64 |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$kpkg" ] || { echo "base-customize: linux-image-amd64 names no kernel" >&2; exit 1; }
(cd "$tmp" && APT_CONFIG=$MMDEBSTRAP_APT_CONFIG apt-get download -q -o APT::Sandbox::User=root \
	"$kpkg" busybox-static)
dpkg-deb -x "$tmp"/"$kpkg"_*.deb "$tmp/k"
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/b"
kver=${kpkg#linux-image-}
# The kernel and busybox (for the initramfs) go beside the tarball, not into it.
cp "$tmp/k/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$tmp/k/boot/config-$kver" "$out/kernel-config"
cp "$tmp/b/bin/busybox" "$out/busybox"
{
	echo "kernel_package=$kpkg"
	echo "kernel_version=$(dpkg-deb -f "$tmp"/"$kpkg"_*.deb Version)"
	echo "kernel_release=$kver"
	echo "busybox_version=$(dpkg-deb -f "$tmp"/busybox-static_*.deb Version)"
} >"$out/kernel.env"
mkdir -p "$R/lib/modules"
cp -a "$tmp/k/lib/modules/$kver" "$R/lib/modules/"
# Modules of hardware a server VM does not have (graphics, sound, wireless, media,
# bluetooth, InfiniBand, staging drivers, ...).
m=$R/lib/modules/$kver/kernel
rm -rf "$m/sound" "$m/drivers/gpu" "$m/drivers/media" "$m/drivers/net/wireless" \
	"$m/drivers/infiniband" "$m/drivers/staging" "$m/drivers/bluetooth" "$m/net/bluetooth" \
	"$m/net/mac80211" "$m/net/wireless" "$m/drivers/iio" "$m/drivers/isdn" "$m/drivers/net/can" \
	"$m/net/can" "$m/drivers/mtd" "$m/drivers/usb/gadget" "$m/drivers/net/usb" "$m/drivers/hid" \
	"$m/drivers/input/joystick" "$m/drivers/input/touchscreen" "$m/drivers/input/tablet" \
	"$m/drivers/input/misc" "$m/drivers/video" "$m/drivers/net/ethernet/mellanox" \
	"$m/drivers/net/ethernet/qlogic" "$m/drivers/net/ethernet/chelsio" "$m/drivers/net/ethernet/marvell" \
	"$m/drivers/scsi/qla2xxx" "$m/drivers/scsi/lpfc" "$m/drivers/scsi/mpt3sas" "$m/drivers/scsi/megaraid" \
	"$m/drivers/scsi/be2iscsi" "$m/drivers/scsi/bfa" "$m/drivers/scsi/qedf" "$m/drivers/scsi/qedi" \
	"$m/drivers/w1" "$m/drivers/nfc" "$m/net/nfc" "$m/drivers/atm" "$m/net/atm" "$m/drivers/leds" \
	"$m/drivers/hwmon" "$m/drivers/platform/chrome" "$m/drivers/platform/surface" "$m/drivers/thunderbolt" \
	"$m/drivers/extcon" "$m/drivers/power/supply" "$m/drivers/pcmcia" "$m/drivers/firewire" \
	"$m/drivers/net/wwan" "$m/drivers/net/ieee802154" "$m/net/ieee802154" "$m/drivers/comedi" \
	"$m/drivers/accessibility" "$m/drivers/fpga" "$m/drivers/misc/cardreader" "$m/drivers/mmc" \
	"$m/drivers/memstick" "$m/drivers/ntb" "$m/drivers/soundwire" "$m/drivers/spi" "$m/drivers/gnss" \
	"$m/drivers/usb/serial" "$m/drivers/target" "$m/drivers/block/drbd" "$m/drivers/md/bcache" \
	"$m/drivers/scsi/aic7xxx" "$m/drivers/scsi/qla4xxx" "$m/drivers/scsi/pm8001" "$m/drivers/ufs" \
	"$m/drivers/nvdimm" "$m/drivers/edac" "$m/drivers/message" "$m/drivers/usb/typec" "$m/drivers/i2c" \
	"$m/drivers/watchdog" "$m/lib/test_bpf.ko"
# File systems: ext4 (root), vfat and iso9660/udf (config drives), the kernel's own
# (autofs, fuse, overlay, squashfs, efivarfs, nls) stay; cluster, network and other
# disk file systems go.
for f in xfs btrfs ocfs2 smb nfs nfsd nfs_common lockd f2fs gfs2 ceph ubifs afs reiserfs nilfs2 dlm jfs \
	coda cachefiles fscache netfs orangefs hfs hfsplus minix ntfs3 ufs befs bfs affs adfs cramfs \
	romfs sysv qnx4 qnx6 omfs hpfs freevxfs jffs2 erofs zonefs 9p exfat gfs2 dlm ksmbd; do
	rm -rf "$m/fs/$f"
done
for n in sunrpc ceph tipc rxrpc batman-adv smc rds sctp 9p dccp l2tp openvswitch mpls netrom rose \
	ax25 appletalk x25 lapb phonet caif ieee802154 6lowpan rfkill nfc; do
	rm -rf "$m/net/$n"
done
# Network cards: those of hypervisors and clouds (virtio, vmxnet3, Hyper-V, Xen are
# outside drivers/net/ethernet; here Intel e1000/e1000e/igb/VFs, Amazon ENA, Google gVNIC,
# Microsoft MANA, Realtek) stay.
for d in "$m"/drivers/net/ethernet/*/; do
	case $(basename "$d") in intel|amazon|google|microsoft|realtek) ;; *) rm -rf "$d" ;; esac
done
chroot "$R" depmod -a "$kver"
# Nothing of a node's own: PostgreSQL's default cluster, SSH host keys, the snakeoil pair.
rm -rf "$R/var/lib/postgresql/15/main" "$R/etc/postgresql/15/main"
rm -f "$R"/etc/ssh/ssh_host_* "$R/etc/ssl/private/ssl-cert-snakeoil.key" "$R/etc/ssl/certs/ssl-cert-snakeoil.pem"
find "$R/etc/ssl/certs" -xtype l -delete
rm -rf "$R/var/lib/ldap"/* "$R/etc/ldap/slapd.d"
# Differ between builds or belong to one machine.
rm -f "$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old "$R/var/cache/ldconfig/aux-cache" \
	"$R/etc/ssh/sshd_config.ucf-old"
find "$R/var/log" -type f -delete
rm -f "$R"/var/cache/apt/*.bin
echo gatehouse >"$R/etc/hostname"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
