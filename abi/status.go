package abi

import "strconv"

// Status is the status byte of a response (RAIDA-FACTS section 5).
type Status byte

// The statuses this module answers with.
const (
	StatusNoError                 Status = 0 // 44 answers 0 on success
	StatusInvalidSplitID          Status = 2
	StatusInvalidRaidaID          Status = 3
	StatusInvalidShardID          Status = 4
	StatusInvalidCommandGroup     Status = 5
	StatusInvalidCommand          Status = 6
	StatusInvalidCoinID           Status = 7
	StatusInvalidPacketLength     Status = 16
	StatusEncryptionCoinNotFound  Status = 25 // types 4/5: coin 1 or 2 outside the database
	StatusInvalidEncryptionCode   Status = 27
	StatusInvalidEOF              Status = 33
	StatusInvalidEncryption       Status = 34
	StatusEmptyRequest            Status = 36
	StatusInvalidCRC              Status = 37
	StatusCoinsNotDiv             Status = 39
	StatusInvalidSNOrDenomination Status = 40
	StatusFilesystem              Status = 194
	StatusInvalidKeyStart         Status = 195 // in the node's table; never answered here
	StatusInvalidKeyLength        Status = 196
	StatusCoinLoad                Status = 197
	StatusInvalidHMAC             Status = 204 // types 4/5: the body's tag does not match
	StatusSuccess                 Status = 250
	StatusInternal                Status = 252
	StatusMemoryAlloc             Status = 254 // in the node's table; never answered here
	StatusInvalidRouting          Status = 255
)

var statusNames = map[Status]string{
	StatusNoError:                 "NO_ERROR",
	StatusInvalidSplitID:          "INVALID_SPLIT_ID",
	StatusInvalidRaidaID:          "INVALID_RAIDA_ID",
	StatusInvalidShardID:          "INVALID_SHARD_ID",
	StatusInvalidCommandGroup:     "INVALID_COMMAND_GROUP",
	StatusInvalidCommand:          "INVALID_COMMAND",
	StatusInvalidCoinID:           "INVALID_COIN_ID",
	StatusInvalidPacketLength:     "INVALID_PACKET_LENGTH",
	StatusEncryptionCoinNotFound:  "ENCRYPTION_COIN_NOT_FOUND",
	StatusInvalidEncryptionCode:   "INVALID_ENCRYPTION_CODE",
	StatusInvalidEOF:              "INVALID_EOF",
	StatusInvalidEncryption:       "INVALID_ENCRYPTION",
	StatusEmptyRequest:            "EMPTY_REQUEST",
	StatusInvalidCRC:              "INVALID_CRC",
	StatusCoinsNotDiv:             "COINS_NOT_DIV",
	StatusInvalidSNOrDenomination: "INVALID_SN_OR_DENOMINATION",
	StatusFilesystem:              "FILESYSTEM",
	StatusInvalidKeyStart:         "INVALID_KEY_START",
	StatusInvalidKeyLength:        "INVALID_KEY_LENGTH",
	StatusCoinLoad:                "COIN_LOAD",
	StatusInvalidHMAC:             "INVALID_HMAC",
	StatusSuccess:                 "STATUS_SUCCESS",
	StatusInternal:                "INTERNAL",
	StatusMemoryAlloc:             "MEMORY_ALLOC",
	StatusInvalidRouting:          "INVALID_ROUTING",
}

// String returns the node's name for the status, or its number when it is
// not in the table.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "STATUS_" + strconv.Itoa(int(s))
}

// Known reports whether s is in the status table.
func (s Status) Known() bool {
	_, ok := statusNames[s]
	return ok
}
