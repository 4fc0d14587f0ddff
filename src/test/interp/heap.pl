# heap.pl - Debian's perl exercising its allocator: hashes and strings built and
# dropped, a list grown to a million elements (perl's stacks and arrays grow by
# realloc into large blocks), and worker threads allocating at once (a
# thread-multi perl: the default heap shared and contended).  Deterministic:
# the same output whatever allocates.
# Usage: perl heap.pl [ROUNDS [THREADS [STEPS]]]   (1, 4 and 40,000 by default)
use strict;
use warnings;
use threads;
use Digest::MD5 qw(md5_hex);

my $rounds = shift // 1;
my $nthreads = shift // 4;
my $steps = shift // 40000;

sub churn {
    my ($seed, $steps) = @_;
    my $x = $seed;
    my $rand = sub { $x = ($x * 1103515245 + 12345) % 2147483648; return $x % $_[0]; };
    my (%h, @a);
    for my $i (1 .. $steps) {
        my $k = $rand->(20000);
        $h{$k} = ("y" x $rand->(3000)) . $k;
        push @a, [ map { $rand->(1000) } 1 .. $rand->(6) ];
        delete $h{ $rand->(20000) } if $rand->(10) < 3;
        shift @a if @a > 3000;
    }
    return md5_hex(join(",", map { "$_=" . length($h{$_}) } sort { $a <=> $b } keys %h)
                   . join(";", map { join(":", @$_) } @a));
}

for my $r (1 .. $rounds) {
    my @workers = map { threads->create(\&churn, $r * 100 + $_, $steps) } 1 .. $nthreads;
    print "round $r threads: ", join(" ", map { $_->join } @workers), "\n";
    print "round $r main: ", churn($r, $steps), "\n";
    my $s = "ab" x 1000000;
    my @m = $s =~ /a(b)/g;                    # a list of a million, grown as it is built
    my $joined = join("", @m);
    $joined .= "c" x 4096 for 1 .. 256;       # a 2 MB string grown 4 KiB at a time
    print "round $r list: ", scalar(@m), " ", length($joined), " ", md5_hex($joined), "\n";
}
