# Appliance image test harness (sourced by tests/image/*.t).
#   IMG_DISK / IMG_QCOW / IMG_DEB   the image built by `make image` (00-build.t builds it)
#   IMG_OUT                  tests/out/image: serial console logs and journals of every boot
#   vm_start NAME DISK [QEMU-ARGS...]   boot DISK (an overlay made by vm_disk) under qemu TCG
#                            (q35, -cpu max, OVMF, virtio disk and network, user networking)
#                            with the console on IMG_OUT/NAME.serial.log; forwards the guest
#                            ports in VM_FWD ("9443 18243 ...") to free host ports on
#                            127.0.0.1 and exports VM_PORT_<guest port>; QMP on a socket
#   vm_disk FILE [SIZE]      a qcow2 overlay on the image (the image itself is never written)
#   vm_wait NAME REGEX SECONDS   wait until the console shows REGEX; 1 when the deadline
#                            passes or qemu exits first
#   vm_stop NAME [SECONDS]   ACPI power-down and wait (killed after SECONDS, default 90);
#                            then the guest's journal goes to IMG_OUT/NAME.journal.txt
#   vm_kill NAME             stop qemu at once
#   vm_root_ext4 DISK OUT    the root partition (GPT entry 2) of a powered-off disk, copied
#                            out with dd: no loop device, no mount (read with debugfs)
#   vm_console NAME          the console log without colour codes and progress lines
#   poll_code WANT CMD...    run CMD (which prints an HTTP status) every 0.5 s until it
#                            prints WANT, for 30 s at most; prints the last status
. "$GH_ROOT/appliance/embedded/pg.sh"
IMG_BUILD=$GH_ROOT/build/image
IMG_OUT=$GH_ROOT/tests/out/image
mkdir -p "$IMG_OUT"
IMG_DISK=$(ls "$IMG_BUILD"/gatehouse-*-amd64.img 2>/dev/null | head -1)
IMG_QCOW=${IMG_DISK%.img}.qcow2
IMG_DEB=$(ls "$IMG_BUILD"/gatehouse_*_amd64.deb 2>/dev/null | head -1)
OVMF=/usr/share/ovmf/OVMF.fd
declare -A VM_PID=() VM_QMP=()

vm_disk() {
	rm -f "$1"
	qemu-img create -q -f qcow2 -F raw -b "$IMG_DISK" "$1" "${2:-3G}"
}

vm_start() {
	local name=$1 disk=$2 fwd="" p hp; shift 2
	for p in ${VM_FWD:-}; do
		hp=$(gh_free_port)
		fwd="$fwd,hostfwd=tcp:127.0.0.1:$hp-:$p"
		export "VM_PORT_$p=$hp"
	done
	VM_QMP[$name]=$GH_TMP/$name.qmp
	rm -f "${VM_QMP[$name]}" "$IMG_OUT/$name.serial.log"
	qemu-system-x86_64 -machine q35,accel=tcg -cpu max -m "${VM_MEM:-2048}" -smp "${VM_SMP:-2}" \
		-display none -monitor none -serial "file:$IMG_OUT/$name.serial.log" \
		-qmp "unix:${VM_QMP[$name]},server=on,wait=off" -bios "$OVMF" \
		-drive "file=$disk,if=virtio,format=qcow2" \
		-netdev "user,id=n0$fwd" -device virtio-net-pci,netdev=n0,romfile= \
		-no-reboot "$@" >"$GH_TMP/$name.qemu.log" 2>&1 &
	VM_PID[$name]=$!
	VM_T0=$(date +%s)
}

vm_console() {
	sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\r//g' "$IMG_OUT/$1.serial.log" 2>/dev/null | grep -av 'Job .* running'
}

poll_code() {
	local want=$1 c=""
	shift
	for _ in $(seq 1 60); do c=$("$@"); [ "$c" = "$want" ] && break; sleep 0.5; done
	echo "$c"
}

vm_wait() {
	local name=$1 re=$2 end=$(( $(date +%s) + $3 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		vm_console "$name" | grep -Eaq -- "$re" && return 0
		kill -0 "${VM_PID[$name]}" 2>/dev/null || { vm_console "$name" | grep -Eaq -- "$re"; return; }
		sleep 1
	done
	return 1
}

_vm_qmp() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", sys.argv[2]):
    f.write(json.dumps({"execute": cmd}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
PY
}

vm_stop() {
	local name=$1 t=${2:-90} pid=${VM_PID[$1]:-}
	[ -n "$pid" ] || return 0
	_vm_qmp "${VM_QMP[$name]}" system_powerdown >/dev/null 2>&1
	for _ in $(seq 1 "$t"); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
	local rc=0
	if kill -0 "$pid" 2>/dev/null; then kill "$pid"; rc=1; fi
	wait "$pid" 2>/dev/null
	unset "VM_PID[$name]"
	return $rc
}

vm_kill() {
	local pid=${VM_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	unset "VM_PID[$1]"
}

# vm_root_ext4 DISK OUT: the root partition of DISK (a qcow2 overlay) as a plain ext4 file,
# copied out block for block (qemu-img reads the overlay and its backing image; the GPT is
# read from the disk itself, as systemd-repart may have grown the partition).
vm_root_ext4() {
	local hdr=$GH_TMP/gpt.bin lba n sz i start end type
	qemu-img dd -O raw if="$1" of="$hdr" bs=512 count=34 2>/dev/null || return 1
	le64() { od -An -tu8 -j "$2" -N 8 "$1" | tr -d ' '; }
	lba=$(le64 "$hdr" $((512 + 72))) n=$(od -An -tu4 -j $((512 + 80)) -N 4 "$hdr" | tr -d ' ')
	sz=$(od -An -tu4 -j $((512 + 84)) -N 4 "$hdr" | tr -d ' ')
	for ((i = 0; i < n && i < 16; i++)); do
		type=$(od -An -tx1 -j $((lba * 512 + i * sz)) -N 16 "$hdr" | tr -d ' \n')
		# 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 (root, x86-64) in GPT byte order
		[ "$type" = e3bc684fcde8b14d96e7fbcaf984b709 ] || continue
		start=$(le64 "$hdr" $((lba * 512 + i * sz + 32))) end=$(le64 "$hdr" $((lba * 512 + i * sz + 40)))
		qemu-img convert -O raw "json:{\"driver\":\"raw\",\"offset\":$((start * 512)),\"size\":$(((end - start + 1) * 512)),\"file\":{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"$1\"}}}" "$2"
		return
	done
	return 1
}

# vm_journal EXT4 NAME: the guest's journal, copied out with debugfs rdump, as text.
vm_journal() {
	local d=$GH_TMP/journal-$2
	rm -rf "$d"; mkdir -p "$d"
	debugfs -R "rdump /var/log/journal $d" "$1" >/dev/null 2>&1
	journalctl -D "$d/journal" -o short-monotonic --no-pager >"$IMG_OUT/$2.journal.txt" 2>&1
}

vm_cleanup_all() { for n in "${!VM_PID[@]}"; do vm_kill "$n"; done; }
