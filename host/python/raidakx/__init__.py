"""raidakx hosts the raidakx key-exchange module (build/keyexchange.wasm)
in a Python program, under Wasmtime's C API (see _wasmtime.py for where the
library comes from). abi/ABI.md is the contract it implements.

    import raidakx
    backend = raidakx.FileBackend("/srv/raida14")
    with raidakx.load(open("build/keyexchange.wasm", "rb").read(), backend,
                      raida_id=14, coin_id=6) as host:
        response = host.handle(request)

`python3 -m raidakx replay [-v] [-wasm PATH] FILE_OR_DIR...` replays test
vectors.
"""

from .abi import internal_error
from .backends import FileBackend, MemoryBackend
from .host import AbiError, Fault, Host, Module, Trap, load

__all__ = ["AbiError", "Fault", "FileBackend", "Host", "MemoryBackend", "Module", "Trap", "internal_error", "load"]
