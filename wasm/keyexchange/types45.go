package keyexchange

import (
	"encoding/binary"

	"github.com/raidakx/raidakx/abi"
)

// handle48 answers a request whose byte 16 is 4 or 5: encryption types 4
// and 5, with 48-byte headers, a key derived with SHA-256, AES-256-CTR and
// HMAC-SHA256 tags (docs/PROTOCOL.md section 6, whose step numbers the
// comments use). req holds at least 17 bytes.
func (h *Handler) handle48(req, resp []byte) int {
	start := h.host.TimeNow()
	r := &h.req
	*r = request{long: true}
	rh := abi.ResponseHeader48{
		RaidaID:        h.cfg.RaidaID,
		Group:          abi.ResponseGroup(req, h.cfg.RaidaID),
		EncryptionType: req[abi.OffEncryptionType],
	}
	if len(req) >= abi.Header48Size {
		copy(rh.NonceEcho[:], req[abi.Off48RespNonceEcho:])
	}
	var status abi.Status
	payloadBytes := 0
	// Step 2: every answer carries R, so it is drawn first.
	if e := h.host.Random(h.scratch.random[:]); e != abi.OK {
		status = h.hostFailed("random", e)
	} else {
		rh.Random = h.scratch.random
		status, payloadBytes = h.process48(req, r, &rh, resp[abi.Header48Size:abi.ResponseCap-abi.SHA256Size-2])
	}
	n := abi.Header48Size
	if payloadBytes > 0 {
		// 6.4: E = AES-256-CTR(K, R[0:16], payload), then its tag.
		e := resp[n : n+payloadBytes]
		iv := &h.scratch.iv256
		copy(iv[:], rh.Random[:abi.AESBlockSize])
		h.host.AESCTR(h.scratch.k[:], iv, e)
		h.host.HMACSHA256(h.scratch.k[:], e, &h.scratch.tag)
		n += payloadBytes
		n += copy(resp[n:], h.scratch.tag[:])
		resp[n], resp[n+1] = abi.TrailerByte, abi.TrailerByte
		n += 2
		rh.BodyLength = uint32(payloadBytes + abi.SHA256Size + 2)
	}
	rh.Status = status
	if elapsed := h.host.TimeNow() - start; elapsed > 0 {
		rh.Micros = uint32(min(elapsed/1000, 1<<32-1))
	}
	rh.Encode(resp)
	return n
}

// process48 runs steps 3-19 and returns the status and the payload it
// wrote into out (plaintext; handle48 encrypts it).
func (h *Handler) process48(req []byte, r *request, rh *abi.ResponseHeader48, out []byte) (abi.Status, int) {
	cmd, st := h.route(req) // steps 3-9
	if st != abi.StatusSuccess {
		return st, 0
	}
	if len(req) < abi.Header48Size { // step 10
		return abi.StatusInvalidPacketLength, 0
	}
	hdr, _ := abi.DecodeRequestHeader48(req)
	ans := &h.scratch.ans
	if st := h.readAN(hdr.Den, hdr.SN, ans[:16]); st != abi.StatusSuccess { // step 11
		return st, 0
	}
	rh.Den, rh.SN = hdr.Den, hdr.SN
	hashed := ans[:16]
	if hdr.EncryptionType == abi.EncryptionTwoCoins { // step 12
		den2, sn2 := hdr.Coin2()
		if st := h.readAN(den2, sn2, ans[16:]); st != abi.StatusSuccess {
			return st, 0
		}
		hashed = ans[:]
	}
	L := int(hdr.BodyLength)
	switch {
	case len(req) < abi.Header48Size+L, L < 2: // steps 13, 14
		return abi.StatusInvalidPacketLength, 0
	}
	raw := req[abi.Header48Size : abi.Header48Size+L]
	if raw[L-2] != abi.TrailerByte || raw[L-1] != abi.TrailerByte { // step 15
		return abi.StatusInvalidEOF, 0
	}
	if L < abi.SHA256Size+2 { // step 16
		return abi.StatusInvalidPacketLength, 0
	}
	h.host.SHA256(hashed, &h.scratch.k) // 6.3
	c := raw[:L-abi.SHA256Size-2]
	h.host.HMACSHA256(h.scratch.k[:], c, &h.scratch.tag)
	if !equal32(&h.scratch.tag, (*[abi.SHA256Size]byte)(raw[len(c):])) { // step 17
		return abi.StatusInvalidHMAC, 0
	}
	body := h.body[:len(c)] // step 18: only C, into the module's own copy
	copy(body, c)
	if len(body) > 0 {
		iv := &h.scratch.iv256
		copy(iv[:], hdr.Nonce[:abi.AESBlockSize])
		h.host.AESCTR(h.scratch.k[:], iv, body)
	}
	r.payload = body
	copy(r.iv[:8], hdr.Nonce[:8]) // 44's and 45's own counter block: N[0:8] || 00*8
	return h.run(cmd, r, out)     // step 19
}

// readAN reads the AN of encryption coin (den, sn) into an: 25 when the
// coin does not exist, 252 when the host fails.
func (h *Handler) readAN(den int8, sn uint32, an []byte) abi.Status {
	rec, st := h.readRecord(den, sn)
	switch st {
	case abi.StatusSuccess:
		copy(an, rec[:16])
	case abi.StatusInvalidSNOrDenomination:
		st = abi.StatusEncryptionCoinNotFound
	}
	return st
}

// equal32 compares two tags in constant time: no early exit, no branch on
// their bytes.
func equal32(a, b *[32]byte) bool {
	var d uint64
	for i := 0; i < 32; i += 8 {
		d |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	return d == 0
}
