package keyexchange

import (
	"encoding/binary"

	"github.com/raidakx/raidakx/abi"
)

// Handler answers request packets. It keeps per-request scratch space, so
// one Handler serves one request at a time.
type Handler struct {
	host    Host
	cfg     abi.Config
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
	key  [16]byte                 // 44: the recipient's AN
	ctr  [abi.AESBlockSize]byte   // xorCTR's counter block
	ks   [abi.RaidaCount][16]byte // 45: the keystream block of each RAIDA's AN

	// Types 4 and 5.
	random [abi.Random48Size]byte // R
	ans    [32]byte               // AN1, then AN2 for type 5: what K hashes
	k      [abi.SHA256Size]byte   // K
	tag    [abi.SHA256Size]byte   // HMAC-SHA256(K, C) or (K, E)
	iv256  [abi.AESBlockSize]byte // N[0:16] or R[0:16]
}

// NewHandler returns a Handler for the node cfg, using host's imports.
func NewHandler(host Host, cfg abi.Config) *Handler {
	return &Handler{host: host, cfg: cfg}
}

// request is one request being handled.
type request struct {
	hdr     abi.RequestHeader
	iv      [abi.AESBlockSize]byte // initial counter block
	an      [16]byte               // type 1: the encryption coin's AN, read once
	payload []byte                 // decrypted body after the challenge, before the trailer
	long    bool                   // type 4 or 5 (docs/PROTOCOL.md section 6)
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
	if len(req) > abi.OffEncryptionType && abi.Has48ByteHeader(req[abi.OffEncryptionType]) {
		return h.handle48(req, resp)
	}
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
			xor16(&rh.Challenge, &r.an)
		}
	}
	n := abi.HeaderSize
	if out.payloadBytes > 0 {
		payload := resp[abi.HeaderSize : abi.HeaderSize+out.payloadBytes]
		if r.hdr.EncryptionType == abi.EncryptionAN {
			// Continue the keystream after the blocks the request body used.
			used := (uint64(r.hdr.BodyLength) - 2 + 15) / 16
			h.xorCTR(&r.an, &r.iv, used, payload)
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
	cmd, st := h.route(req)
	if st != abi.StatusSuccess {
		return outcome{status: st}
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
	case abi.EncryptionLocker:
		// No locker index here: as the node's empty one (PROTOCOL.md section 1).
		return outcome{status: abi.StatusInvalidEncryption}
	default:
		return outcome{status: abi.StatusInvalidEncryptionCode}
	}

	L := int(hdr.BodyLength)
	if len(req) < abi.HeaderSize+L {
		return outcome{status: abi.StatusInvalidPacketLength}
	}
	if L == 0 {
		return outcome{status: cmd.emptyStatus()}
	}
	if L < 2 {
		return outcome{status: abi.StatusInvalidPacketLength}
	}
	raw := req[abi.HeaderSize : abi.HeaderSize+L]
	if raw[L-2] != abi.TrailerByte || raw[L-1] != abi.TrailerByte {
		return outcome{status: abi.StatusInvalidEOF}
	}
	body := h.body[:L-2]
	copy(body, raw)
	if hdr.EncryptionType == abi.EncryptionAN {
		h.xorCTR(&r.an, &r.iv, 0, body)
	}
	if L < abi.ChallengeSize+2 {
		return outcome{status: abi.StatusInvalidPacketLength}
	}
	if crc12((*[12]byte)(body)) != binary.BigEndian.Uint32(body[12:16]) {
		return outcome{status: abi.StatusInvalidCRC}
	}
	o := outcome{challengeOK: true}
	copy(o.challenge[:], body[:16])
	r.payload = body[16:]
	o.status, o.payloadBytes = h.run(cmd, r, out)
	return o
}

// route runs the checks of request bytes 0-7 (docs/PROTOCOL.md section
// 1, steps 2-8), the same for every encryption type, and returns the
// command. req holds at least 8 bytes.
func (h *Handler) route(req []byte) (command, abi.Status) {
	group := req[abi.OffGroup]
	switch {
	case req[abi.OffRouter] != abi.Router:
		return cmdNone, abi.StatusInvalidRouting
	case req[abi.OffSplit] != 0:
		return cmdNone, abi.StatusInvalidSplitID
	case req[abi.OffRaidaID] != h.cfg.RaidaID:
		return cmdNone, abi.StatusInvalidRaidaID
	case group > abi.MaxGroup:
		return cmdNone, abi.StatusInvalidCommandGroup
	case req[abi.OffShard] > abi.MaxShard:
		return cmdNone, abi.StatusInvalidShardID
	}
	cmd := lookupCommand(group, req[abi.OffCommand])
	if cmd == cmdNone {
		return cmdNone, abi.StatusInvalidCommand
	}
	if binary.BigEndian.Uint16(req[abi.OffCoinID:]) != h.cfg.CoinID {
		return cmdNone, abi.StatusInvalidCoinID
	}
	return cmd, abi.StatusSuccess
}

// readRecord reads record (den, sn); the host takes its page lock for the
// read. It answers StatusInvalidSNOrDenomination when the record does not
// exist and StatusInternal when the host fails.
func (h *Handler) readRecord(den int8, sn uint32) (rec [abi.RecordSize]byte, st abi.Status) {
	switch e := h.host.RecordRead(den, sn, &h.scratch.rec); e {
	case abi.OK:
		return h.scratch.rec, abi.StatusSuccess
	case abi.ErrNoRecord:
		return rec, abi.StatusInvalidSNOrDenomination
	default:
		return rec, h.hostFailed("record_read", e)
	}
}

// hostFailed logs an import's unexpected error and returns StatusInternal.
func (h *Handler) hostFailed(what string, e abi.Errno) abi.Status {
	h.host.Log(abi.LogError, []byte(what+": "+e.Error()))
	return abi.StatusInternal
}
