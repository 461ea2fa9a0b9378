#!/usr/bin/perl
# Write a small GeoIP2-Country test database to $ARGV[0]:
#   127.0.0.0/8 NZ, 192.0.2.0/24 FR, 198.51.100.0/24 DE, 2001:db8::/32 JP;
#   203.0.113.0/24 and everything else: not in the database.
# With a second argument "alt", 192.0.2.0/24 is BE instead (a database update).
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: geo-db.pl OUT.mmdb [alt]\n";
my $alt = (shift // '') eq 'alt';
my %types = (country => 'map', iso_code => 'utf8_string', names => 'map', en => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6, record_size => 24, database_type => 'GeoIP2-Country',
    languages => ['en'], description => { en => 'gatehouse test' },
    alias_ipv6_to_ipv4 => 1, remove_reserved_networks => 0, merge_strategy => 'none',
    map_key_type_callback => sub { $types{ $_[0] } },
);
my %nets = ('127.0.0.0/8' => 'NZ', '192.0.2.0/24' => $alt ? 'BE' : 'FR', '198.51.100.0/24' => 'DE',
    '2001:db8::/32' => 'JP');
for my $n (sort keys %nets) {
    $tree->insert_network($n, { country => { iso_code => $nets{$n}, names => { en => $nets{$n} } } });
}
open(my $fh, '>:raw', $out) or die "$out: $!\n";
$tree->write_tree($fh);
close($fh) or die "$out: $!\n";
