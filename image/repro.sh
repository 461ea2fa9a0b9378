#!/usr/bin/env bash
# image/repro.sh: `make test-image-repro` (not part of `make test`).  Builds the image twice
# from the committed HEAD, each time from nothing: a fresh clone in its own folder (so the
# two builds also differ in path), release binaries compiled anew, the Debian base made
# again from the mirror (no cache).  Then compares the .deb, the disk and the qcow2 byte for
# byte, prints both sha256 lists, and on a difference says which artefact and, for the
# disk, which partition and which files differ.  Exit 0 when all are the same.
# (Both builds read the mirror: if it publishes between them, the base may differ.)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$ROOT/build/repro
rm -rf "$W"
mkdir -p "$W"
head=$(git -C "$ROOT" rev-parse HEAD)
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] ||
	echo "repro: the working tree has changes; both builds use the committed HEAD ($head)"
for b in a b; do
	git clone -q --no-hardlinks "$ROOT" "$W/src-$b"
	git -C "$W/src-$b" checkout -q "$head"
	t0=$(date +%s)
	if ! "$W/src-$b/image/build.sh" "$W/out-$b" >"$W/build-$b.log" 2>&1; then
		tail -20 "$W/build-$b.log"; echo "repro: build $b failed (log: $W/build-$b.log)"; exit 1
	fi
	echo "repro: build $b in $(( $(date +%s) - t0 )) s (from $W/src-$b)"
	cat "$W/out-$b/SHA256SUMS" | sed 's/^/  /'
done
if cmp -s "$W/out-a/SHA256SUMS" "$W/out-b/SHA256SUMS"; then
	echo "repro: the two builds are the same: $(awk '/\.img$/ { print $1 }' "$W/out-a/SHA256SUMS")"
	exit 0
fi
echo "repro: the builds differ:"
diff "$W/out-a/SHA256SUMS" "$W/out-b/SHA256SUMS" || true
img() { ls "$W/out-$1"/gatehouse-*-amd64.img; }
if ! cmp -s "$(img a)" "$(img b)"; then
	off=$(cmp "$(img a)" "$(img b)" | awk '{ print $5 + 0 }' | tr -d ,)
	echo "repro: first differing byte of the disk: $off ($(sfdisk -d "$(img a)" | awk -F'[=,]' -v o=$((off / 512)) \
		'/start=/ { s = $2 + 0; n = $4 + 0; if (o >= s && o < s + n) print "in " $0 }'))"
	for b in a b; do
		read -r s n < <(sfdisk -d "$(img $b)" | awk -F'[=,]' '/4F68BCE3/ { print $2 + 0, $4 + 0 }')
		dd if="$(img $b)" of="$W/root-$b.ext4" bs=512 skip="$s" count="$n" status=none
		mkdir -p "$W/fs-$b"
		debugfs -R "rdump / $W/fs-$b" "$W/root-$b.ext4" >/dev/null 2>&1
	done
	echo "repro: files that differ in the root file system:"
	diff -rq --no-dereference "$W/fs-a" "$W/fs-b" | head -40 || true
fi
exit 1
