package segment

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"hash/crc32"
	"testing"
)

// OldIndexRecord is an index file of one record as versions without
// channels wrote it.
func OldIndexRecord(t *testing.T) []byte {
	var body bytes.Buffer
	rec := idxRecord{Full: true, Upto: 3, Seen: []uint32{1}, Parts: []partRecord{{Name: "Product Viewed", Prof: []uint32{1}, At: []int64{1}}}}
	if err := gob.NewEncoder(&body).Encode(rec); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 8, 8+body.Len())
	binary.LittleEndian.PutUint32(frame[:4], uint32(body.Len()))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(body.Bytes(), crcTable))
	return append(frame, body.Bytes()...)
}
