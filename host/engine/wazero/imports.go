package wazero

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/imports"
)

// envKey is the context key of the calling instance's *imports.Env.
type envKey struct{}

func envOf(ctx context.Context) *imports.Env { return ctx.Value(envKey{}).(*imports.Env) }

// view returns the guest memory [ptr, ptr+n), or faults the instance when
// any of it lies outside memory. The slice aliases guest memory.
func view(mod api.Module, ptr, n uint64) []byte {
	b, ok := mod.Memory().Read(uint32(ptr), uint32(n))
	if !ok {
		imports.Faultf("pointer 0x%x length %d outside memory of %d bytes", uint32(ptr), uint32(n), mod.Memory().Size())
	}
	return b
}

func record(mod api.Module, ptr uint64) *[abi.RecordSize]byte {
	return (*[abi.RecordSize]byte)(view(mod, ptr, abi.RecordSize))
}

func i32(v uint64) int32 { return int32(uint32(v)) }

func errno(e abi.Errno) uint64 { return uint64(uint32(e)) }

// instantiateImports defines the raidakx host module in rt. Each function
// reads its arguments from the stack, bounds-checks every pointer and calls
// the calling instance's Env.
func instantiateImports(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	def := func(name string, fn api.GoModuleFunc) {
		sig := abi.Imports[name]
		conv := func(ts []abi.ValueType) []api.ValueType {
			out := make([]api.ValueType, len(ts))
			for i, t := range ts {
				out[i] = api.ValueType(t)
			}
			return out
		}
		b.NewFunctionBuilder().WithGoModuleFunction(fn, conv(sig.Params), conv(sig.Results)).Export(name)
	}
	def(abi.ImportRandom, func(ctx context.Context, mod api.Module, s []uint64) {
		s[0] = errno(envOf(ctx).Random(view(mod, s[0], s[1])))
	})
	def(abi.ImportPageLock, func(ctx context.Context, mod api.Module, s []uint64) {
		s[0] = errno(envOf(ctx).PageLock(i32(s[0]), uint32(s[1])))
	})
	def(abi.ImportPageUnlock, func(ctx context.Context, mod api.Module, s []uint64) {
		s[0] = errno(envOf(ctx).PageUnlock(i32(s[0]), uint32(s[1])))
	})
	def(abi.ImportRecordRead, func(ctx context.Context, mod api.Module, s []uint64) {
		s[0] = errno(envOf(ctx).RecordRead(i32(s[0]), uint32(s[1]), record(mod, s[2])))
	})
	def(abi.ImportRecordWrite, func(ctx context.Context, mod api.Module, s []uint64) {
		s[0] = errno(envOf(ctx).RecordWrite(i32(s[0]), uint32(s[1]), record(mod, s[2])))
	})
	def(abi.ImportFileRead, func(ctx context.Context, mod api.Module, s []uint64) {
		n, e := envOf(ctx).FileRead(abi.Dir(i32(s[0])), view(mod, s[1], s[2]), view(mod, s[3], s[4]))
		if e != abi.OK {
			s[0] = errno(e)
			return
		}
		s[0] = uint64(n)
	})
	def(abi.ImportFileWrite, func(ctx context.Context, mod api.Module, s []uint64) {
		s[0] = errno(envOf(ctx).FileWrite(abi.Dir(i32(s[0])), view(mod, s[1], s[2]), view(mod, s[3], s[4])))
	})
	def(abi.ImportTimeNow, func(ctx context.Context, mod api.Module, s []uint64) {
		s[0] = uint64(envOf(ctx).TimeNow())
	})
	def(abi.ImportLog, func(ctx context.Context, mod api.Module, s []uint64) {
		envOf(ctx).Log(abi.LogLevel(i32(s[0])), view(mod, s[1], s[2]))
	})
	def(abi.ImportAESCTR, func(ctx context.Context, mod api.Module, s []uint64) {
		key, iv, buf := view(mod, s[0], s[1]), view(mod, s[2], abi.AESBlockSize), view(mod, s[3], s[4])
		envOf(ctx).AESCTR(key, (*[abi.AESBlockSize]byte)(iv), buf)
	})
	def(abi.ImportSHA256, func(ctx context.Context, mod api.Module, s []uint64) {
		data, out := view(mod, s[0], s[1]), view(mod, s[2], abi.SHA256Size)
		envOf(ctx).SHA256(data, (*[abi.SHA256Size]byte)(out))
	})
	def(abi.ImportHMACSHA256, func(ctx context.Context, mod api.Module, s []uint64) {
		key, data, out := view(mod, s[0], s[1]), view(mod, s[2], s[3]), view(mod, s[4], abi.SHA256Size)
		envOf(ctx).HMACSHA256(key, data, (*[abi.SHA256Size]byte)(out))
	})
	_, err := b.Instantiate(ctx)
	return err
}
