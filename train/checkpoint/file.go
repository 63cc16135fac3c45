package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/gputrain/gputrain/internal/atomicfile"
)

// ReadFile reads and decodes the safetensors file at path (see Decode). Its errors
// start "checkpoint: <path>: ".
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	f, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	return f, nil
}

// WriteFile writes f to path atomically (see writeAtomic): either the whole new file is
// at path, or whatever was there before is left untouched.
func WriteFile(path string, f *File) error {
	return writeAtomic(path, func(w io.Writer) error { return encode(w, f) })
}

// writeAtomic writes what write produces to path atomically (internal/atomicfile): a
// failure leaves path as it was.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("checkpoint: cannot write %s (left unchanged): %w", path, err)
	}
	return nil
}

// IsCheckpoint reports whether the file at path is a gputrain checkpoint: a
// safetensors file whose header's metadata has a layout version. It reads the header
// only (at most 64 MiB), so that a program can tell, before it overwrites a file,
// whether the file is one of its own checkpoints. A file that cannot be read, or is
// anything else, is not.
func IsCheckpoint(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return false
	}
	size := binary.LittleEndian.Uint64(n[:])
	if size == 0 || size > 64<<20 {
		return false
	}
	head := make([]byte, size)
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	var h struct {
		Meta map[string]string `json:"__metadata__"`
	}
	return json.Unmarshal(head, &h) == nil && h.Meta[keyVersion] != ""
}
