package keyexchange

import (
	"crypto/cipher"
	"encoding/binary"
	"hash/crc32"

	"github.com/raidakx/raidakx/abi"
)

// Handler answers request packets. It keeps per-request scratch space, so
// one Handler serves one request at a time.
type Handler struct {
	host    Host
	cfg     abi.Config
	ciphers ciphers
	req     request
	scratch scratch
	body    [0xffff]byte // decrypted body; the request buffer stays as received
}

// scratch is working space for one request. A buffer handed to an import
// through the Host interface escapes to the heap, so a local array would
// be allocated on every request; these are allocated once.
type scratch struct {
	rec  [abi.RecordSize]byte
	draw [10]byte
	name [32]byte
	coin [coinFileSize + 1]byte // one more, to see a file that is too long
	file [5 + keySpaceSize]byte
}

// NewHandler returns a Handler for the node cfg, using host's imports.
func NewHandler(host Host, cfg abi.Config) *Handler {
	return &Handler{host: host, cfg: cfg}
}

// request is one request being handled.
type request struct {
	hdr     abi.RequestHeader
	iv      [16]byte     // initial counter block
	an      [16]byte     // type 1: the encryption coin's AN, read once
	anBlock cipher.Block // type 1: its cipher
	payload []byte       // decrypted body after the challenge, before the trailer
}

// outcome is what a request produced.
type outcome struct {
	status       abi.Status
	challengeOK  bool // step 17 passed: the challenge answer is sent
	challenge    [16]byte
	payloadBytes int // payload written at resp[32:]
}

// Handle answers the request packet req, writing the response into resp,
// which must hold abi.ResponseCap bytes. It returns the response length, 0
// when req gets no answer (shorter than the header).
func (h *Handler) Handle(req, resp []byte) int {
	if len(req) < abi.HeaderSize {
		return 0
	}
	start := h.host.TimeNow()
	r := &h.req
	*r = request{}
	r.hdr, _ = abi.DecodeRequestHeader(req)
	r.iv = r.hdr.CounterBlock()
	out := h.process(req, r, resp[abi.HeaderSize:abi.ResponseCap-2])

	rh := abi.ResponseHeader{
		RaidaID: h.cfg.RaidaID,
		Status:  out.status,
		Group:   abi.ResponseGroup(req, h.cfg.RaidaID),
	}
	copy(rh.Echo[:], req[abi.OffEcho:])
	if out.challengeOK {
		rh.Challenge = out.challenge
		if r.hdr.EncryptionType == abi.EncryptionAN {
			for i := range rh.Challenge {
				rh.Challenge[i] ^= r.an[i]
			}
		}
	}
	n := abi.HeaderSize
	if out.payloadBytes > 0 {
		payload := resp[abi.HeaderSize : abi.HeaderSize+out.payloadBytes]
		if r.hdr.EncryptionType == abi.EncryptionAN {
			// Continue the keystream after the blocks the request body used.
			used := (uint64(r.hdr.BodyLength) - 2 + 15) / 16
			h.ciphers.xorCTR(r.anBlock, r.iv, used, payload, payload)
		}
		n += out.payloadBytes
		resp[n], resp[n+1] = abi.TrailerByte, abi.TrailerByte
		n += 2
		rh.BodyLength = uint32(out.payloadBytes + 2)
	}
	if elapsed := h.host.TimeNow() - start; elapsed > 0 {
		rh.Micros = uint32(min(elapsed/1000, 1<<32-1))
	}
	rh.Encode(resp)
	return n
}

// process runs the checks of docs/PROTOCOL.md section 1 in order, then the
// command, writing any payload into out.
func (h *Handler) process(req []byte, r *request, out []byte) outcome {
	hdr := &r.hdr
	switch {
	case hdr.Router != abi.Router:
		return outcome{status: abi.StatusInvalidRouting}
	case hdr.Split != 0:
		return outcome{status: abi.StatusInvalidSplitID}
	case hdr.RaidaID != h.cfg.RaidaID:
		return outcome{status: abi.StatusInvalidRaidaID}
	case hdr.Group > abi.MaxGroup:
		return outcome{status: abi.StatusInvalidCommandGroup}
	case hdr.Shard > abi.MaxShard:
		return outcome{status: abi.StatusInvalidShardID}
	}
	cmd := lookupCommand(hdr.Group, hdr.Command)
	if cmd == nil {
		return outcome{status: abi.StatusInvalidCommand}
	}
	if hdr.CoinID != h.cfg.CoinID {
		return outcome{status: abi.StatusInvalidCoinID}
	}
	switch hdr.EncryptionType {
	case abi.EncryptionNone:
	case abi.EncryptionAN:
		rec, st := h.readRecord(hdr.EncryptionDen, hdr.EncryptionSN)
		if st == abi.StatusInvalidSNOrDenomination {
			return outcome{status: abi.StatusInvalidEncryption}
		} else if st != abi.StatusSuccess {
			return outcome{status: st}
		}
		copy(r.an[:], rec[:16])
		r.anBlock = h.ciphers.get(&r.an)
	default:
		return outcome{status: abi.StatusInvalidEncryptionCode}
	}

	L := int(hdr.BodyLength)
	if len(req) < abi.HeaderSize+L {
		return outcome{status: abi.StatusInvalidPacketLength}
	}
	if L == 0 {
		return outcome{status: cmd.empty}
	}
	if L < 2 {
		return outcome{status: abi.StatusInvalidPacketLength}
	}
	raw := req[abi.HeaderSize : abi.HeaderSize+L]
	if raw[L-2] != abi.TrailerByte || raw[L-1] != abi.TrailerByte {
		return outcome{status: abi.StatusInvalidEOF}
	}
	body := h.body[:L-2]
	if hdr.EncryptionType == abi.EncryptionAN {
		h.ciphers.xorCTR(r.anBlock, r.iv, 0, body, raw[:L-2])
	} else {
		copy(body, raw)
	}
	if L < abi.ChallengeSize+2 {
		return outcome{status: abi.StatusInvalidPacketLength}
	}
	if crc32.ChecksumIEEE(body[:12]) != binary.BigEndian.Uint32(body[12:16]) {
		return outcome{status: abi.StatusInvalidCRC}
	}
	o := outcome{challengeOK: true}
	copy(o.challenge[:], body[:16])
	r.payload = body[16:]
	o.status, o.payloadBytes = cmd.run(h, r, out)
	return o
}

// readRecord reads record (den, sn) under its page lock. It answers
// StatusInvalidSNOrDenomination when the record does not exist and
// StatusInternal when the host fails.
func (h *Handler) readRecord(den int8, sn uint32) (rec [abi.RecordSize]byte, st abi.Status) {
	if !abi.RecordExists(den, sn) {
		return rec, abi.StatusInvalidSNOrDenomination
	}
	page := abi.Page(sn)
	if e := h.host.PageLock(den, page); e != abi.OK {
		return rec, h.hostFailed("page_lock", e)
	}
	e := h.host.RecordRead(den, sn, &h.scratch.rec)
	rec = h.scratch.rec
	if u := h.host.PageUnlock(den, page); e == abi.OK {
		e = u
	}
	if e != abi.OK {
		return rec, h.hostFailed("record_read", e)
	}
	return rec, abi.StatusSuccess
}

// hostFailed logs an import's unexpected error and returns StatusInternal.
func (h *Handler) hostFailed(what string, e abi.Errno) abi.Status {
	h.host.Log(abi.LogError, []byte(what+": "+e.Error()))
	return abi.StatusInternal
}
