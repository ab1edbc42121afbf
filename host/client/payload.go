package client

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// PostKeyPayload returns the payload of 41 Post Key (RAIDA-FACTS section
// 6): key id [0:16], IP [16:32] (zero), den [32], sn [33:37] (zero; the
// node checks neither), key space [37:165] holding key from its start,
// KS [165] = 0, KL [166] = len(key). key must be at most 127 bytes.
func PostKeyPayload(id []byte, den int8, key []byte) []byte {
	p := make([]byte, 167)
	copy(p, id[:16])
	p[32] = byte(den)
	copy(p[37:164], key)
	p[166] = byte(len(key))
	return p
}

// EncryptKeyPayload returns the payload of 44 Encrypt Key (PROTOCOL.md
// section 4) for recipient coin (den, sn): den [0], sn [1:5], then part,
// the client's 8-byte key part (the 31-byte body), or nothing (the
// 23-byte body: the node draws the key part).
func EncryptKeyPayload(den int8, sn uint32, part []byte) []byte {
	p := binary.BigEndian.AppendUint32([]byte{byte(den)}, sn)
	return append(p, part...)
}

// KeyRecord is one record of 45 Decrypt RAIDA Key: the key block Block
// that RAIDA Raida's 44 encrypted for coin (Den, SN), to replace half
// Split of that coin's AN.
type KeyRecord struct {
	CoinID uint16 // not checked by the node
	Split  byte   // 0: AN bytes 0-7, 1: bytes 8-15
	Raida  byte   // index of the AN in the decryption coin's file
	Den    int8
	SN     uint32
	Block  []byte // 16 bytes, 44's answer payload
}

// DecryptKeyPayload returns the payload of 45 Decrypt RAIDA Key
// (PROTOCOL.md section 4): the decryption coin den [0], sn [1:5], whose
// file coins/{den:02x}.{sn}.bin holds the ANs that decrypt the blocks,
// then 26 bytes per record: coin id (2), split, RAIDA index, shard (0),
// den, sn (4), block (16).
func DecryptKeyPayload(den int8, sn uint32, records ...KeyRecord) []byte {
	p := EncryptKeyPayload(den, sn, nil)
	for _, r := range records {
		p = binary.BigEndian.AppendUint16(p, r.CoinID)
		p = append(p, r.Split, r.Raida, 0, byte(r.Den))
		p = binary.BigEndian.AppendUint32(p, r.SN)
		p = append(p, r.Block[:16]...)
	}
	return p
}

// OpenKeyBlock decrypts the block that 44 request r answered, under an
// (the recipient coin's AN at that node), and checks it as 45 would:
// key part (8) ‖ den ‖ sn (4) ‖ 2 random bytes ‖ FF with den and sn of
// r's payload. It returns the key part.
func OpenKeyBlock(r *Request, an, block []byte) ([]byte, error) {
	if len(block) != 16 || len(r.Payload) < 5 {
		return nil, fmt.Errorf("client: key block of %d bytes for a 44 payload of %d", len(block), len(r.Payload))
	}
	plain := make([]byte, 16)
	r.InnerCTR(an, plain, block)
	if plain[15] != 0xff || !bytes.Equal(plain[8:13], r.Payload[:5]) {
		return nil, fmt.Errorf("client: key block decrypts to %x: not key part ‖ %x ‖ R ‖ ff", plain, r.Payload[:5])
	}
	return plain[:8], nil
}
