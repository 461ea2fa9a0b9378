#!/usr/bin/env bash
# image/rootfs.sh BASEDIR DEB ROOT: the appliance's root file system in the folder ROOT:
# the cached Debian base (BASEDIR/rootfs.tar, image/rootfs-base.sh), Gatehouse's .deb
# installed with dpkg in a chroot (no mounts needed), the appliance layer (image/rootfs/:
# first-boot services, network, firewall, SSH and journal defaults) and the units
# enabled, disabled or masked for the hardened defaults.  Times are clamped to
# SOURCE_DATE_EPOCH so that the file system built from ROOT is the same every time.
set -euo pipefail
IMG=$(cd "$(dirname "$0")" && pwd)
base=$1 deb=$2 R=$3
: "${SOURCE_DATE_EPOCH:?set SOURCE_DATE_EPOCH}"
rm -rf "$R"
mkdir -p "$R"
tar -xpf "$base/rootfs.tar" -C "$R" --numeric-owner --xattrs --xattrs-include='*'

# Gatehouse, as any Debian server installs it.
cp "$deb" "$R/tmp/gatehouse.deb"
chroot "$R" dpkg -i /tmp/gatehouse.deb >/dev/null
rm -f "$R/tmp/gatehouse.deb"
# The package's example configuration is not this node's: gatehouse-config writes the
# node's from its sources, and until then `gatehouse status` shows the appliance's state.
rm -f "$R/etc/gatehouse/gatehouse.conf"

# The appliance layer: scripts 0755, everything else 0644, directories 0755, root's.
(cd "$IMG/rootfs" && find . -type d -printf '%P\n') | while read -r d; do [ -n "$d" ] && install -d -m 0755 "$R/$d"; done
(cd "$IMG/rootfs" && find . -type f -printf '%P\n') | while read -r f; do
	mode=0644
	[ -x "$IMG/rootfs/$f" ] && mode=0755
	install -m $mode "$IMG/rootfs/$f" "$R/$f"
done
chmod 0644 "$R/etc/hostname"
mkdir -p "$R/var/log/journal"
. "$base/kernel.env"
cat >"$R/usr/lib/gatehouse/image-release" <<REL
GATEHOUSE_VERSION=$GH_IMAGE_VERSION
KERNEL_PACKAGE=$kernel_package
KERNEL_VERSION=$kernel_version
BUILD_EPOCH=$SOURCE_DATE_EPOCH
REL

# Units: the appliance's first boot and node; networkd, resolved, timesyncd, nftables.
# Off: SSH (until a key is given), the system PostgreSQL cluster and slapd (the node runs
# its own), the first-boot wizard (it would wait for a console answer), and the daily
# apt timers (no unattended upgrades: a node changes with a new image; see image/README.md).
systemctl --root="$R" enable gatehouse-config.service gatehouse-firstboot.service gatehouse-rolecheck.service gatehouse.service \
	systemd-networkd.service systemd-networkd-wait-online.service systemd-resolved.service \
	systemd-timesyncd.service nftables.service >/dev/null 2>&1
systemctl --root="$R" disable ssh.service ssh.socket postgresql.service slapd.service >/dev/null 2>&1 || true
systemctl --root="$R" mask systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1
rm -f "$R/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/ssh.service" \
	"$R/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/postgresql.service" \
	"$R/var/lib/systemd/deb-systemd-helper-enabled/timers.target.wants/apt-daily.timer" \
	"$R/var/lib/systemd/deb-systemd-helper-enabled/timers.target.wants/apt-daily-upgrade.timer"
# root: no password (console login only with access.console_password_hash)
chroot "$R" usermod -p '*' root

# What differs between builds or belongs to one machine.
: >"$R/etc/machine-id"
rm -f "$R"/var/lib/dpkg/*-old "$R"/var/cache/debconf/*-old "$R/var/cache/ldconfig/aux-cache" \
	"$R"/etc/*- "$R"/etc/ssh/ssh_host_*
find "$R/var/log" "$R/tmp" "$R/var/tmp" -mindepth 1 -type f -delete
find "$R" -xdev -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
