# fork.pl - Debian's perl forking while its other threads allocate.
#
# fork() copies only the thread that calls it.  Worker threads here build and
# drop hashes of strings without pause while the main thread forks; each child
# allocates (a hash of its own, a joined string), prints a checksum through a
# pipe and exits.  An allocator whose lock a worker held at the fork leaves
# the child spinning on it: such a child is killed after a few seconds and
# counted as hung.  Deterministic output: the same whatever allocates.
# Usage: perl fork.pl [FORKS [THREADS]]
use strict;
use warnings;
use threads;
use threads::shared;
use POSIX ();
use Time::HiRes qw(sleep time);

my $forks = shift // 100;
my $nthreads = shift // 3;
my $stop :shared = 0;

sub churn {
    my ($seed) = @_;
    my ($x, $n) = ($seed, 0);
    until ($stop) {
        my %h;
        for my $i (1 .. 500) {
            $x = ($x * 1103515245 + 12345) % 2147483648;
            $h{"k$x"} = "v" x ($x % 700);
            delete $h{"k" . ($x >> 3)} if $i % 3 == 0;
        }
        $n++;
    }
    return $n;
}

sub child_work {
    my ($k) = @_;
    my %h = map { ("c$_" => "w" x ($_ % 300)) } 1 .. 2000 + $k;
    my $s = join ",", map { length $h{$_} } sort keys %h;
    return length($s) . ":" . scalar(keys %h);
}

my @workers = map { threads->create(\&churn, $_) } 1 .. $nthreads;
sleep 0.05;
my ($ok, $hung, $bad) = (0, 0, 0);
my $sum = 0;
for my $k (1 .. $forks) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        close $r;
        syswrite $w, child_work($k) . "\n";
        POSIX::_exit(0);
    }
    close $w;
    my $deadline = time + 10;
    my $done = 0;
    while (time < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) { $done = 1; last }
        sleep 0.002;
    }
    if (!$done) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        $hung++;
        next;
    }
    my $line = <$r> // '';
    close $r;
    chomp $line;
    if ($? == 0 && $line eq child_work($k)) { $ok++; $sum += length $line } else { $bad++ }
}
$stop = 1;
$_->join for @workers;
print "forks $forks, children ok $ok, hung $hung, wrong $bad, checksum $sum\n";
exit($hung || $bad ? 1 : 0);
