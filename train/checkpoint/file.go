package checkpoint

import (
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
