#!/usr/bin/env bash
# image/deb.sh BINDIR OUTDIR VERSION: build OUTDIR/gatehouse_VERSION_amd64.deb with dpkg-deb
# from the release binaries in BINDIR (web assets are embedded in them), the systemd unit,
# its role drop-ins and the default configuration.  The package installs on any
# Debian 12 server (its Depends come from dpkg-shlibdeps); the appliance image installs
# it too.  Reproducible: file times are SOURCE_DATE_EPOCH, owners root, names sorted.
# Prints the path of the package.
set -euo pipefail
IMG=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$IMG")
bindir=$(cd "$1" && pwd) version=$3
mkdir -p "$2" && outdir=$(cd "$2" && pwd)
: "${SOURCE_DATE_EPOCH:?set SOURCE_DATE_EPOCH}"
bins="gatehouse gatehouse-keymanager gatehouse-publisher gatehouse-portal gatehouse-trafficmanager
gatehouse-gw-internal gatehouse-gw-external"
st=$outdir/deb-root
rm -rf "$st"
umask 022
mkdir -p "$st/DEBIAN" "$st/usr/bin" "$st/lib/systemd/system" "$st/usr/share/gatehouse/systemd/roles" \
	"$st/usr/share/doc/gatehouse"
for b in $bins; do
	[ -x "$bindir/$b" ] || { echo "deb.sh: $bindir/$b is missing (make all)" >&2; exit 1; }
	# Debug information stays in the build folder; the package carries stripped binaries.
	strip --strip-unneeded -R .comment -o "$st/usr/bin/$b" "$bindir/$b"
	chmod 0755 "$st/usr/bin/$b"
done
# the node's unit (gatehouse run) and the role drop-ins, one of which `gatehouse init`'s
# caller installs as /etc/systemd/system/gatehouse.service.d/role.conf
install -m 0644 "$ROOT/appliance/systemd/gatehouse.service" "$st/lib/systemd/system/"
install -m 0644 "$ROOT"/appliance/systemd/roles/*.conf "$st/usr/share/gatehouse/systemd/roles/"
install -m 0644 "$IMG/deb/gatehouse.conf" "$st/usr/share/gatehouse/gatehouse.conf"
install -m 0644 "$IMG/deb/copyright" "$st/usr/share/doc/gatehouse/copyright"
install -m 0755 "$IMG/deb/postinst" "$IMG/deb/postrm" "$st/DEBIAN/"

# Depends: the shared libraries of the binaries, as Debian's own packages state them.
sd=$outdir/shlibdeps
rm -rf "$sd" && mkdir -p "$sd/debian"
printf 'Source: gatehouse\n\nPackage: gatehouse\nArchitecture: any\n' >"$sd/debian/control"
deps=$(cd "$sd" && dpkg-shlibdeps -O $(for b in $bins; do printf -- '-e%s ' "$st/usr/bin/$b"; done) 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --apparent-size "$st" | cut -f1)
cat >"$st/DEBIAN/control" <<CTL
Package: gatehouse
Version: $version
Architecture: amd64
Maintainer: Gatehouse developers <gatehouse@localhost>
Installed-Size: $size
Depends: $deps, iproute2, curl
Recommends: postgresql-15, postgresql-client-15, slapd, ldap-utils
Section: net
Priority: optional
Homepage: https://github.com/gatehouse/gatehouse
Description: API manager (publisher, developer portal, key manager, gateways)
 Gatehouse is an API manager in the model of WSO2 API Manager: a publisher with a
 tenant-scoped developer portal publishes APIs to internal and external gateway
 environments, sharing one OAuth2 key manager and one LDAP user store.
 .
 This package holds every binary of every role; 'gatehouse init' makes or enrols a
 node and gatehouse.service runs the role named in /etc/gatehouse/gatehouse.conf.
CTL
(cd "$st" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
	xargs -0 md5sum) >"$st/DEBIAN/md5sums"
chmod 0644 "$st/DEBIAN/control" "$st/DEBIAN/md5sums"
find "$st" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
deb=$outdir/gatehouse_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$st" "$deb" >/dev/null
echo "$deb"
