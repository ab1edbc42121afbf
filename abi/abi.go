package abi

// Version is the ABI version this package describes. The module exports it
// as ExportABIVersion and a host refuses a module whose value differs.
// Version 2 added the crypto imports (ImportAESCTR, ImportSHA256,
// ImportHMACSHA256).
const Version = 2

// ImportModule is the WebAssembly module name of every host import.
const ImportModule = "raidakx"

// Names of the host functions the module imports from ImportModule.
// ABI.md gives each one's signature, traps and errors.
const (
	ImportRandom      = "random"       // (ptr, len i32) -> errno i32
	ImportPageLock    = "page_lock"    // (den, page i32) -> errno i32
	ImportPageUnlock  = "page_unlock"  // (den, page i32) -> errno i32
	ImportRecordRead  = "record_read"  // (den, sn, ptr i32) -> errno i32
	ImportRecordWrite = "record_write" // (den, sn, ptr i32) -> errno i32
	ImportFileRead    = "file_read"    // (dir, name_ptr, name_len, buf_ptr, buf_len i32) -> n_or_errno i32
	ImportFileWrite   = "file_write"   // (dir, name_ptr, name_len, data_ptr, data_len i32) -> errno i32
	ImportTimeNow     = "time_now"     // () -> unix_nanos i64
	ImportLog         = "log"          // (level, ptr, len i32) -> ()
	ImportAESCTR      = "aes_ctr"      // (key_ptr, key_len, iv_ptr, buf_ptr, buf_len i32) -> ()
	ImportSHA256      = "sha256"       // (data_ptr, data_len, out_ptr i32) -> ()
	ImportHMACSHA256  = "hmac_sha256"  // (key_ptr, key_len, data_ptr, data_len, out_ptr i32) -> ()
)

// Names of the module's exports.
const (
	ExportMemory         = "memory"
	ExportInitialize     = "_initialize"             // () -> ()
	ExportABIVersion     = "raidakx_abi_version"     // () -> i32
	ExportConfigure      = "raidakx_configure"       // (raida_id, coin_id i32) -> errno i32
	ExportRequestBuffer  = "raidakx_request_buffer"  // () -> ptr i32
	ExportResponseBuffer = "raidakx_response_buffer" // () -> ptr i32
	ExportHandle         = "raidakx_handle"          // (request_len i32) -> response_len i32
)

// ValueType is a WebAssembly value type as it appears in a signature.
type ValueType byte

// The two value types the ABI uses.
const (
	I32 ValueType = 0x7f
	I64 ValueType = 0x7e
)

// Signature is a WebAssembly function type.
type Signature struct {
	Params  []ValueType
	Results []ValueType
}

// Imports maps each import name to its signature.
var Imports = map[string]Signature{
	ImportRandom:      {[]ValueType{I32, I32}, []ValueType{I32}},
	ImportPageLock:    {[]ValueType{I32, I32}, []ValueType{I32}},
	ImportPageUnlock:  {[]ValueType{I32, I32}, []ValueType{I32}},
	ImportRecordRead:  {[]ValueType{I32, I32, I32}, []ValueType{I32}},
	ImportRecordWrite: {[]ValueType{I32, I32, I32}, []ValueType{I32}},
	ImportFileRead:    {[]ValueType{I32, I32, I32, I32, I32}, []ValueType{I32}},
	ImportFileWrite:   {[]ValueType{I32, I32, I32, I32, I32}, []ValueType{I32}},
	ImportTimeNow:     {nil, []ValueType{I64}},
	ImportLog:         {[]ValueType{I32, I32, I32}, nil},
	ImportAESCTR:      {[]ValueType{I32, I32, I32, I32, I32}, nil},
	ImportSHA256:      {[]ValueType{I32, I32, I32}, nil},
	ImportHMACSHA256:  {[]ValueType{I32, I32, I32, I32, I32}, nil},
}

// Exports maps each exported function the host calls to its signature.
var Exports = map[string]Signature{
	ExportInitialize:     {nil, nil},
	ExportABIVersion:     {nil, []ValueType{I32}},
	ExportConfigure:      {[]ValueType{I32, I32}, []ValueType{I32}},
	ExportRequestBuffer:  {nil, []ValueType{I32}},
	ExportResponseBuffer: {nil, []ValueType{I32}},
	ExportHandle:         {[]ValueType{I32}, []ValueType{I32}},
}

// Buffer sizes. A host passes at most RequestCap bytes (longer packets are
// truncated: bytes after the body are ignored anyway) and the module never
// returns more than ResponseCap.
const (
	RequestCap  = HeaderSize + 0xffff // the header plus the largest u16 body
	ResponseCap = 4096                // covers 45's 2,519 answer bytes and 43's 512
)

// Sizes of the host's data items.
const (
	RecordSize      = 17   // AN (16) then MFS (1), the node's page record
	RecordsPerPage  = 1024 // records in one page file
	MaxFileWrite    = 4096 // largest file_write the host accepts
	MaxLogMessage   = 1024 // log messages are truncated to this length
	MaxFileNameSize = 255
)

// Sizes of the crypto imports' operands. A length outside these traps.
const (
	AESBlockSize = 16      // an AES block and the CTR counter block
	SHA256Size   = 32      // a SHA-256 digest and an HMAC-SHA256 tag
	MaxCryptoLen = 1 << 16 // the most bytes one crypto import processes (a key included)
)

// ValidAESKeyLen reports whether n is a key length aes_ctr accepts: 16
// (AES-128) or 32 (AES-256).
func ValidAESKeyLen(n int) bool { return n == 16 || n == 32 }

// Dir names a folder of the data root that the file imports may touch.
type Dir int32

// The folders. The module only ever writes DirKeys; a host refuses writes
// to DirCoins.
const (
	DirCoins Dir = 0 // coins/: encryption coin files, read only
	DirKeys  Dir = 1 // Keys/: chat keys, read and write
)

// String returns the folder's name in the data root.
func (d Dir) String() string {
	switch d {
	case DirCoins:
		return "coins"
	case DirKeys:
		return "Keys"
	}
	return "invalid"
}

// LogLevel is the level argument of the log import, matching log/slog's
// levels divided by 4.
type LogLevel int32

// Log levels.
const (
	LogDebug LogLevel = -1
	LogInfo  LogLevel = 0
	LogWarn  LogLevel = 1
	LogError LogLevel = 2
)
