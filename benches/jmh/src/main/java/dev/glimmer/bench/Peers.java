package dev.glimmer.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The peer allocators from Debian packages: which ones this run can load. */
public final class Peers {

    /** The line that installs every peer. */
    public static final String APT_GET = "apt-get install -y libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4";

    /** A peer: its name in results, its library and Debian package. */
    public record Peer(String name, String soname, String pkg) {
    }

    public static final List<Peer> ALL = List.of(
            new Peer("jemalloc", "libjemalloc.so.2", "libjemalloc2"),
            new Peer("mimalloc", "libmimalloc.so.2", "libmimalloc2.0"),
            new Peer("tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"));

    private Peers() {
    }

    static Peer byName(String name) {
        return ALL.stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no peer named " + name));
    }

    /**
     * The peers this process can load, honouring GLIMMER_BENCH_PEERS ("none", "all" or a
     * comma list: the others are treated as not installed). Prints a line per skipped peer
     * and the apt-get line for them.
     */
    @SuppressWarnings("restricted")
    public static List<String> available() {
        String env = System.getenv("GLIMMER_BENCH_PEERS");
        List<String> wanted = env == null || env.isBlank() || env.equals("all")
                ? ALL.stream().map(Peer::name).toList()
                : Arrays.asList(env.split(","));
        List<String> ok = new ArrayList<>();
        StringBuilder missing = new StringBuilder();
        for (Peer p : ALL) {
            String why = null;
            if (!wanted.contains(p.name())) {
                why = "GLIMMER_BENCH_PEERS=" + env + ": treated as not installed";
            } else {
                try {
                    SymbolLookup.libraryLookup(p.soname(), Arena.global());
                } catch (IllegalArgumentException e) {
                    why = e.getMessage();
                    String tunables = System.getenv("GLIBC_TUNABLES");
                    if (tunables == null || !tunables.contains("optional_static_tls")) {
                        why += " (jemalloc needs GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536)";
                    }
                }
            }
            if (why == null) {
                ok.add(p.name());
            } else {
                System.out.println("skip " + p.name() + ": " + why);
                missing.append(' ').append(p.pkg());
            }
        }
        if (!missing.isEmpty()) {
            System.out.println("to add the missing peers:  apt-get install -y" + missing);
        }
        return ok;
    }
}
