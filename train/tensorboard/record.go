package tensorboard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// castagnoli is the CRC-32C table (polynomial 0x1EDC6F41, reflected 0x82F63B78), the
// checksum of TFRecord files.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcMaskDelta is what TFRecord adds to a rotated CRC.
const crcMaskDelta = 0xa282ead8

// MaskedCRC is the checksum TFRecord files store: the CRC-32C c of data, rotated right
// by 15 bits and offset, ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2³²), so that a CRC
// of data holding CRCs stays well distributed.
func MaskedCRC(data []byte) uint32 {
	c := crc32.Checksum(data, castagnoli)
	return (c>>15 | c<<17) + crcMaskDelta
}

// recordHeader is the length (uint64, little-endian) and its masked CRC.
const recordHeader = 12

// appendRecord appends data framed as one TFRecord:
//
//	uint64 length, uint32 masked_crc32c(length), data[length], uint32 masked_crc32c(data)
//
// every integer little-endian.
func appendRecord(b, data []byte) []byte {
	// The header goes straight into b: a local array would escape to the heap through
	// the CRC's assembly, and the callback logs scalars during training.
	at := len(b)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	b = binary.LittleEndian.AppendUint32(b, MaskedCRC(b[at:at+8]))
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, MaskedCRC(data))
}

// maxRecord bounds a record's length, so that a corrupt length cannot ask for
// gigabytes before its CRC is checked (the length's own CRC is checked first, but a
// file may be anything).
const maxRecord = 1 << 30

// ErrCorrupt is wrapped by the reader's errors about framing and checksums.
var ErrCorrupt = errors.New("corrupt record")

// RecordReader reads TFRecord framed records and checks both checksums of each.
type RecordReader struct {
	r   io.Reader
	off int64
	buf []byte
}

// NewRecordReader reads records from r.
func NewRecordReader(r io.Reader) *RecordReader { return &RecordReader{r: r} }

// Next returns the next record's data (valid until the next call), or io.EOF after the
// last whole record. A truncated record, a checksum mismatch or an oversized length is
// an error wrapping ErrCorrupt that gives the record's byte offset.
func (rr *RecordReader) Next() ([]byte, error) {
	var h [recordHeader]byte
	n, err := io.ReadFull(rr.r, h[:])
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, rr.corrupt("header truncated after %d of %d bytes (%v)", n, recordHeader, err)
	}
	if got, want := binary.LittleEndian.Uint32(h[8:]), MaskedCRC(h[:8]); got != want {
		return nil, rr.corrupt("length checksum %#08x, want %#08x", got, want)
	}
	size := binary.LittleEndian.Uint64(h[:8])
	if size > maxRecord {
		return nil, rr.corrupt("length %d exceeds %d", size, maxRecord)
	}
	if cap(rr.buf) < int(size)+4 {
		rr.buf = make([]byte, int(size)+4)
	}
	body := rr.buf[:int(size)+4]
	if n, err := io.ReadFull(rr.r, body); err != nil {
		return nil, rr.corrupt("data truncated after %d of %d bytes (%v)", n, len(body), err)
	}
	data := body[:size]
	if got, want := binary.LittleEndian.Uint32(body[size:]), MaskedCRC(data); got != want {
		return nil, rr.corrupt("data checksum %#08x, want %#08x", got, want)
	}
	rr.off += recordHeader + int64(size) + 4
	return data, nil
}

func (rr *RecordReader) corrupt(format string, args ...any) error {
	return fmt.Errorf("tensorboard: record at byte %d: %s: %w", rr.off, fmt.Sprintf(format, args...), ErrCorrupt)
}
