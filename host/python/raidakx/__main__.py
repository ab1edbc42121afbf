"""python3 -m raidakx replay [-v] [-wasm PATH] FILE_OR_DIR...

Replays test vectors through the library, like `raidakx replay` and
testvectors/node/replay.mjs: PATH defaults to build/keyexchange.wasm; a
folder means its *.json files (not recursive) in name order. Prints
"FAIL name: reason" per failing vector, then "N passed, M failed"; exits 1
on any failure, 2 on usage errors. -v also prints "ok   name" per passing
vector, and the module's log and any faults to stderr.
"""

import logging
import sys

from . import replay
from .host import Module

USAGE = "usage: python3 -m raidakx replay [-v] [-wasm PATH] FILE_OR_DIR..."


def usage(msg):
    print(f"{msg}\n{USAGE}", file=sys.stderr)
    return 2


def main(argv):
    if not argv or argv[0] != "replay":
        return usage("unknown command" if argv else "no command")
    wasm, paths, verbose = "build/keyexchange.wasm", [], False
    args = iter(argv[1:])
    for a in args:
        if a == "-v":
            verbose = True
        elif a == "-wasm":
            wasm = next(args, None)
            if wasm is None:
                return usage("-wasm needs a path")
        elif a.startswith("-"):
            return usage(f"unknown flag {a}")
        else:
            paths.append(a)
    if not paths:
        return usage("no vector files")
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="  %(message)s")
    try:
        vectors = replay.load(paths)
        with open(wasm, "rb") as f:
            module = Module(f.read())
    except Exception as e:
        print(f"replay: {e}", file=sys.stderr)
        return 1
    failed = 0
    try:
        for v in vectors:
            try:
                problems = replay.run(module, v)
            except Exception as e:
                problems = [str(e)]
            if problems:
                failed += 1
                print(f"FAIL {v.get('name')}: " + "\n".join(problems).replace("\n", "\n    "))
            elif verbose:
                print(f"ok   {v.get('name')}")
    finally:
        module.close()
    print(f"{len(vectors) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
