"""The command line every measuring stage of benches/Makefile takes: DRIVER OUTDIR [--mode MODE]."""
import os
import sys


def parse(tool, modes):
    """(absolute driver path, output folder, mode) from sys.argv; exits with the usage line
    when they do not parse or the mode is not one of `modes`."""
    args = sys.argv[1:]
    mode = "bench"
    if "--mode" in args:
        i = args.index("--mode")
        mode = args[i + 1] if i + 1 < len(args) else ""
        del args[i:i + 2]
    if len(args) != 2 or mode not in modes:
        print(f"{tool}: error: usage: {tool}.py DRIVER OUTDIR [--mode {'|'.join(modes)}]", file=sys.stderr)
        sys.exit(1)
    return os.path.abspath(args[0]), args[1], mode
