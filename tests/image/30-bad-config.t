#!/usr/bin/env bash
# A config drive (ISO 9660, label cidata) with a bad gatehouse.conf: the node boots to a login prompt, says on the
# console what is wrong (every error, with the file and line it came from) and does not
# initialise, open a port or reboot; the unit gatehouse-config fails and the appliance
# status (read from the disk after power-off, without mounting it) says error, as
# `gatehouse status` on that node does.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/appliance/embedded/pg.sh"
. "$GH_ROOT/tests/image/lib.sh"
[ -f "$IMG_DISK" ] || { echo "FAIL: no image (make image, tests/image/00-build.t)"; echo "0 passed, 1 failed"; exit 1; }
trap vm_cleanup_all EXIT
mkdir -p "$GH_TMP/cidata"
cat >"$GH_TMP/cidata/gatehouse.conf" <<'CONF'
# a node with mistakes
[node]
role = bishop
name = bad-node
[gw-external]
https_prot = 8243
[network]
mode = carrier-pigeon
[access]
ssh_key = not-a-key
CONF
# the drive as cloud-init's NoCloud makes it: ISO 9660 labelled cidata (10-gateway-external
# uses a vfat CIDATA)
xorriso -as mkisofs -quiet -V cidata -J -r -o "$GH_TMP/cidata.img" "$GH_TMP/cidata" 2>/dev/null
DISK=$GH_TMP/bad.qcow2
vm_disk "$DISK"
VM_SMP=1 VM_FWD="8243 22" vm_start bad "$DISK" -drive "file=$GH_TMP/cidata.img,if=virtio,format=raw,readonly=on"
vm_wait bad 'login:' 240
echo "boot: $(( $(date +%s) - VM_T0 )) s to the login prompt"
sleep 5
C=$(vm_console bad)
check_match "the ISO 9660 drive labelled cidata was read" 'config-drive:gatehouse.conf:' "$C"
check_match "a clear error on the console" 'gatehouse: CONFIGURATION ERROR \([0-9]+\): the node is not initialised' "$C"
check_match "... the role, with the file and line" "config-drive:gatehouse.conf:3.*node\.role.*bishop" "$C"
check_match "... the misspelt setting" "config-drive:gatehouse.conf:6.*unknown setting 'gw-external\.https_prot'" "$C"
check_match "... the network mode" 'config-drive:gatehouse.conf:8: network.mode must be dhcp or static' "$C"
check_match "... the SSH key" 'config-drive:gatehouse.conf:10: access.ssh_key is not an OpenSSH public key' "$C"
check_match "the node is up (multi-user target, login prompt)" 'Reached target .*Multi-User System' "$C"
check_match "... with the error on the login banner" 'Gatehouse appliance: error' "$C"
check_nomatch "gatehouse init did not run" 'initialising the node|initialised as' "$C"
check_eq "one boot, no loop (the firmware started one boot loader, systemd one system; qemu still runs)" "1 1 running" \
	"$(grep -ac 'BdsDxe: starting Boot' "$IMG_OUT/bad.serial.log") $(grep -ac 'Welcome to' "$IMG_OUT/bad.serial.log") $(kill -0 "${VM_PID[bad]}" 2>/dev/null && echo running)"
check_eq "no service port open (8243)" 000 "$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$VM_PORT_8243/")"
check_ok "it powers off on ACPI" vm_stop bad
E=$GH_TMP/bad.ext4
vm_root_ext4 "$DISK" "$E"
vm_journal "$E" bad
S=$(debugfs -R 'cat /var/lib/gatehouse/appliance-status' "$E" 2>/dev/null)
check_match "the appliance status says error" '^state=error' "$S"
check_match "... and why" "message=configuration error \([0-9]+\), fix it and boot again:; .*node\.role" "$S"
check_match "gatehouse-config failed (journal)" 'gatehouse-config.service: Failed' "$(cat "$IMG_OUT/bad.journal.txt")"
check_eq "the node was not initialised" "" "$(debugfs -R 'ls /var/lib/gatehouse/.initialised' "$E" 2>/dev/null | grep -v 'File not found')"
check_eq "no node configuration was written" "" "$(debugfs -R 'ls /etc/gatehouse/gatehouse.conf' "$E" 2>/dev/null | grep -v 'File not found')"
# `gatehouse status` as on the node: the image's own binary, with the disk's status file in
# place of /var/lib/gatehouse (a private mount namespace; the host's is untouched)
x=$GH_TMP/bad-root
mkdir -p "$x"
debugfs -R "dump /usr/bin/gatehouse $x/gatehouse" "$E" >/dev/null 2>&1
debugfs -R "dump /var/lib/gatehouse/appliance-status $x/appliance-status" "$E" >/dev/null 2>&1
chmod 755 "$x/gatehouse"
out=$(unshare -m sh -c 'mount -t tmpfs none /var/lib && mkdir /var/lib/gatehouse && cp "$1/appliance-status" /var/lib/gatehouse/ &&
	{ [ ! -d /etc/gatehouse ] || mount -t tmpfs none /etc/gatehouse; } && exec "$1/gatehouse" status' sh "$x" 2>&1); rc=$?
check_match "gatehouse status on that node: the error, and why" '^appliance: error(, role [a-z-]+)? \(.*\): configuration error \([0-9]+\), fix it and boot again:; .*node\.role' "$out"
check_eq "... exit status 1" 1 "$rc"
check_done
