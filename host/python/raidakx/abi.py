"""abi holds the numbers of abi/ABI.md (version 2) and the 252 answer of
its section 6, as abi.PutInternalError builds it in Go."""

import re

VERSION = 2
REQUEST_CAP = 32 + 65535
RESPONSE_CAP = 4096
HEADER = 32
HEADER48 = 48
RECORD = 17  # AN 16 bytes, MFS 1
MIN_DEN, MAX_DEN = -8, 6
PAGE_RECORDS, PAGES = 1024, 1000
SN_LIMIT = PAGE_RECORDS * PAGES
PAGE_FILE = PAGE_RECORDS * RECORD  # 17,408 bytes
MAX_FILE = 4096
MAX_LOG = 1024
MAX_CRYPTO = 65536
STATUS_INTERNAL = 252
DIRS = ("coins", "Keys")  # dir 0 and dir 1

# Errnos (section 4).
OK, ERR_NOT_FOUND, ERR_IO, ERR_NO_RECORD, ERR_NO_RANDOM = 0, -1, -2, -3, -4
ERR_TOO_LARGE, ERR_BAD_NAME, ERR_DENIED, ERR_BAD_CONFIG, ERR_NO_SPACE = -5, -6, -7, -8, -9

I32, I64 = "i32", "i64"
# Section 4 imports (module "raidakx") and section 3 exports: (params, results).
IMPORTS = {
    "random": ((I32, I32), (I32,)),
    "page_lock": ((I32, I32), (I32,)),
    "page_unlock": ((I32, I32), (I32,)),
    "record_read": ((I32, I32, I32), (I32,)),
    "record_write": ((I32, I32, I32), (I32,)),
    "file_read": ((I32, I32, I32, I32, I32), (I32,)),
    "file_write": ((I32, I32, I32, I32, I32), (I32,)),
    "time_now": ((), (I64,)),
    "log": ((I32, I32, I32), ()),
    "aes_ctr": ((I32, I32, I32, I32, I32), ()),
    "sha256": ((I32, I32, I32), ()),
    "hmac_sha256": ((I32, I32, I32, I32, I32), ()),
}
EXPORTS = {
    "_initialize": ((), ()),
    "raidakx_abi_version": ((), (I32,)),
    "raidakx_configure": ((I32, I32), (I32,)),
    "raidakx_request_buffer": ((), (I32,)),
    "raidakx_response_buffer": ((), (I32,)),
    "raidakx_handle": ((I32,), (I32,)),
}

_NAME = re.compile(rb"[0-9A-Za-z_-][0-9A-Za-z._-]{0,254}")


def valid_name(name: bytes) -> bool:
    """valid_name: 1 to 255 bytes of [0-9A-Za-z._-], not starting with '.'."""
    return _NAME.fullmatch(name) is not None


def has_48_byte_header(req: bytes) -> bool:
    """has_48_byte_header: encryption types 4 and 5 (PROTOCOL.md section 6.6),
    whose answers use the 48-byte header."""
    return len(req) > 16 and req[16] in (4, 5)


def internal_error(req: bytes, raida_id: int) -> bytes:
    """internal_error is the 252 answer to req (section 6): b"" for a packet
    too short to be answered at all."""
    long = has_48_byte_header(req)
    if not long and len(req) < HEADER:
        return b""
    resp = bytearray(HEADER48 if long else HEADER)
    header_ok = len(req) >= 5 and req[0] == 1 and req[1] == 0 and req[2] == raida_id and req[4] <= 15
    resp[0], resp[2], resp[3] = raida_id, STATUS_INTERNAL, req[4] if header_ok else 0
    if long:
        resp[16] = req[16]
        if len(req) >= HEADER48:
            resp[46:48] = req[46:48]
    else:
        resp[4:8] = bytes((0, 1, req[30], req[31]))
    return bytes(resp)
