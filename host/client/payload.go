package client

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
