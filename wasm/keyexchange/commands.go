package keyexchange

import (
	"encoding/binary"

	"github.com/raidakx/raidakx/abi"
)

// command is one of the commands the module answers.
type command byte

const (
	cmdNone    command = iota // not a command of this module: 6 INVALID_COMMAND
	cmdEcho                   // 0/0 Echo
	cmdPostKey                // 4/41 Post Key
	cmdAlert                  // 4/42 Key Alert
	cmdGetKey                 // 4/43 Get Key
	cmdEncrypt                // 4/44 Encrypt Key
	cmdDecrypt                // 4/45 Decrypt RAIDA Key
)

// lookupCommand returns the command (group, cmd) names, or cmdNone.
func lookupCommand(group, cmd byte) command {
	switch {
	case group == abi.GroupStatus && cmd == abi.CommandEcho:
		return cmdEcho
	case group != abi.GroupKeys:
		return cmdNone
	}
	switch cmd {
	case abi.CommandPostKey:
		return cmdPostKey
	case abi.CommandAlert:
		return cmdAlert
	case abi.CommandGetKey:
		return cmdGetKey
	case abi.CommandEncrypt:
		return cmdEncrypt
	case abi.CommandDecrypt:
		return cmdDecrypt
	}
	return cmdNone
}

// emptyStatus is the status of c for a request with body length 0.
func (c command) emptyStatus() abi.Status {
	switch c {
	case cmdEcho, cmdAlert:
		return abi.StatusSuccess
	case cmdDecrypt:
		return abi.StatusInvalidPacketLength
	}
	return abi.StatusEmptyRequest
}

// run executes c on r.payload, writes any response payload into out and
// returns the status and the payload length. Echo and 42 Key Alert accept
// any body that passed the checks. A switch rather than a table of
// function values: the calls are direct, so the compiler can inline them.
func (h *Handler) run(c command, r *request, out []byte) (abi.Status, int) {
	switch c {
	case cmdPostKey:
		return h.postKey(r, out)
	case cmdGetKey:
		return h.getKey(r, out)
	case cmdEncrypt:
		return h.encryptKey(r, out)
	case cmdDecrypt:
		return h.decryptRaidaKey(r, out)
	}
	return abi.StatusSuccess, 0
}

// Body sizes, challenge and trailer included (docs/PROTOCOL.md section 4).
const (
	bodyPostKey        = 185
	bodyGetKey         = 55
	bodyEncryptShort   = 23 // recipient only: the module draws the key
	bodyEncryptClient  = 31 // the deployed form: plus the client's key part
	bodyDecryptMin     = 49 // one record
	decryptFixed       = 23 // challenge, coin den and sn, trailer
	decryptRecordSize  = 26
	coinFileSize       = 440
	coinFileANs        = 40 // offset of RAIDA 0's AN in a coin file
	maxKeyRead         = 512
	keyIDSize          = 16
	keySpaceStart      = 37
	keySpaceSize       = 127 // KS + KL may not exceed it
	getKeyPayloadShort = 21  // types 4/5: the deployed node's 43 payload
)

// encryptKey is 44 Encrypt Key: a 16-byte block for the recipient coin,
// encrypted under its AN.
func (h *Handler) encryptKey(r *request, out []byte) (abi.Status, int) {
	L := len(r.payload) + abi.ChallengeSize + 2
	if L != bodyEncryptShort && L != bodyEncryptClient {
		return abi.StatusInvalidPacketLength, 0
	}
	p := r.payload
	den, sn := int8(p[0]), binary.BigEndian.Uint32(p[1:5])
	rec, st := h.readRecord(den, sn)
	if st != abi.StatusSuccess {
		return st, 0
	}
	// Block = K(8) || den || sn(4, as sent) || R(2) || FF, built in the
	// answer and encrypted there. Random bytes are drawn only now that
	// every check has passed.
	block := out[:16]
	draw := &h.scratch.draw
	if L == bodyEncryptShort {
		if e := h.host.Random(draw[:10]); e != abi.OK {
			return h.hostFailed("random", e), 0
		}
		copy(block[0:8], draw[0:8])
		copy(block[13:15], draw[8:10])
	} else {
		if e := h.host.Random(draw[:2]); e != abi.OK {
			return h.hostFailed("random", e), 0
		}
		copy(block[0:8], p[5:13])
		copy(block[13:15], draw[:2])
	}
	block[8] = p[0]
	copy(block[9:13], p[1:5])
	block[15] = 0xff
	copy(h.scratch.key[:], rec[:16])
	h.xorCTR(&h.scratch.key, &r.iv, 0, block)
	return abi.StatusNoError, 16
}

// decryptRaidaKey is 45 Decrypt RAIDA Key: each record carries a key
// encrypted by another RAIDA (its 44) under the AN that the coin file
// holds for that RAIDA; accepted keys replace one half of a record's AN.
func (h *Handler) decryptRaidaKey(r *request, out []byte) (abi.Status, int) {
	L := len(r.payload) + abi.ChallengeSize + 2
	if L < bodyDecryptMin {
		return abi.StatusInvalidPacketLength, 0
	}
	if (L-decryptFixed)%decryptRecordSize != 0 {
		return abi.StatusCoinsNotDiv, 0
	}
	p := r.payload
	name, coin := &h.scratch.name, &h.scratch.coin
	n, e := h.host.FileRead(abi.DirCoins, abi.AppendCoinFileName(name[:0], int8(p[0]), binary.BigEndian.Uint32(p[1:5])), coin[:])
	if e != abi.OK || n != coinFileSize || binary.BigEndian.Uint16(coin[2:4]) != h.cfg.CoinID {
		return abi.StatusCoinLoad, 0
	}
	mfs := h.mfs()
	// Every record's block is encrypted at counter 0 under its RAIDA's AN,
	// so one keystream block per RAIDA index decrypts them all: at most
	// 25 aes_ctr calls however many records there are.
	ks := &h.scratch.ks
	var made uint32 // bit i: ks[i] holds RAIDA i's keystream block
	count := (L - decryptFixed) / decryptRecordSize
	for i := range count {
		rec := p[5+decryptRecordSize*i : 5+decryptRecordSize*(i+1)]
		split, index, den, sn := rec[2], rec[3], int8(rec[5]), binary.BigEndian.Uint32(rec[6:10])
		out[i] = 0
		if index >= abi.RaidaCount || split > 1 || !abi.RecordExists(den, sn) {
			continue
		}
		if made&(1<<index) == 0 {
			ks[index] = [16]byte{}
			h.xorCTR((*[16]byte)(coin[coinFileANs+16*int(index):]), &r.iv, 0, ks[index][:])
			made |= 1 << index
		}
		key := [16]byte(rec[10:26])
		xor16(&key, &ks[index])
		if key[15] != 0xff || key[8] != rec[5] || [4]byte(key[9:13]) != [4]byte(rec[6:10]) {
			continue
		}
		if st := h.replaceHalf(den, sn, split, key[:8], mfs); st != abi.StatusSuccess {
			return st, 0
		}
		out[i] = 1
	}
	return abi.StatusSuccess, count
}

// replaceHalf writes half (bytes 8*split..8*split+8) of record (den, sn)'s
// AN and sets its MFS, under the page lock.
func (h *Handler) replaceHalf(den int8, sn uint32, split byte, half []byte, mfs byte) abi.Status {
	page := abi.Page(sn)
	if e := h.host.PageLock(den, page); e != abi.OK {
		return h.hostFailed("page_lock", e)
	}
	rec := &h.scratch.rec
	e := h.host.RecordRead(den, sn, rec)
	if e == abi.OK {
		copy(rec[8*int(split):], half)
		rec[16] = mfs
		e = h.host.RecordWrite(den, sn, rec)
	}
	if u := h.host.PageUnlock(den, page); e == abi.OK {
		e = u
	}
	if e != abi.OK {
		return h.hostFailed("record_write", e)
	}
	return abi.StatusSuccess
}

// mfs is the current months-from-start byte.
func (h *Handler) mfs() byte { return mfsAt(h.host.TimeNow()) }

// nanosPerDay is the length of a UTC day in nanoseconds.
const nanosPerDay = 86400 * 1e9

// mfsAt is abi.MFS of the UTC year and month of t (nanoseconds since the
// Unix epoch), by Hinnant's days-to-civil arithmetic
// (https://howardhinnant.github.io/date_algorithms.html#civil_from_days):
// no branch, unlike the time package's date code, which costs a dozen
// interruption checks. TestMFSAt compares it with the time package over
// every time an int64 holds.
func mfsAt(t int64) byte {
	days := t/nanosPerDay + (t%nanosPerDay)>>63 // floor: one less when the remainder is negative
	z := days + 719468                          // days since 0000-03-01, > 0 for any int64 t
	era := z / 146097
	doe := z - era*146097                                  // day of the 400-year era, 0..146096
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of the era, 0..399
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the year from March 1, 0..365
	mp := (5*doy + 2) / 153                                // month from March, 0..11
	m := mp + 3 - 12*(mp/10)                               // 1..12
	y := yoe + era*400 + (14-m)/12                         // January and February belong to the next year
	return abi.MFS(int(y), int(m))
}

// postKey is 41 Post Key: store den, sn and a segment of the key space
// under the key id, replacing any earlier file whole.
func (h *Handler) postKey(r *request, out []byte) (abi.Status, int) {
	if len(r.payload)+abi.ChallengeSize+2 != bodyPostKey {
		return abi.StatusInvalidPacketLength, 0
	}
	p := r.payload
	ks, kl := int(p[165]), int(p[166])
	if ks+kl > keySpaceSize {
		return abi.StatusInvalidKeyLength, 0
	}
	file := &h.scratch.file
	copy(file[0:5], p[32:37])
	copy(file[5:], p[keySpaceStart+ks:keySpaceStart+ks+kl])
	name := &h.scratch.name
	hex16(name, p[:keyIDSize])
	if e := h.host.FileWrite(abi.DirKeys, name[:], file[:5+kl]); e != abi.OK {
		h.host.Log(abi.LogWarn, []byte("post key: "+e.Error()))
		return abi.StatusFilesystem, 0
	}
	return abi.StatusSuccess, 0
}

// getKey is 43 Get Key: the first 512 bytes of the key id's file.
func (h *Handler) getKey(r *request, out []byte) (abi.Status, int) {
	// Types 4 and 5 also take the deployed node's 21-byte payload
	// (PROTOCOL.md section 6.5).
	if len(r.payload)+abi.ChallengeSize+2 != bodyGetKey && !(r.long && len(r.payload) == getKeyPayloadShort) {
		return abi.StatusInvalidPacketLength, 0
	}
	name := &h.scratch.name
	hex16(name, r.payload[:keyIDSize])
	n, e := h.host.FileRead(abi.DirKeys, name[:], out[:maxKeyRead])
	if e != abi.OK {
		return abi.StatusFilesystem, 0
	}
	return abi.StatusSuccess, n
}
