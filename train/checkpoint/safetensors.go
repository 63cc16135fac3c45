package checkpoint

import (
	"fmt"
	"io"

	"github.com/gputrain/gputrain/internal/safetensors"
)

// The safetensors codec lives in internal/safetensors, shared with the conformance
// suite's golden files; these names keep this package's API as it was.

// DType is the element type of a tensor in a safetensors file, as the header spells it.
// Checkpoints use two: F32 for weights and state, I64 for counters (PyTorch's
// num_batches_tracked).
type DType = safetensors.DType

// The element types this package reads and writes.
const (
	F32 = safetensors.F32
	I64 = safetensors.I64
)

// Tensor is one named tensor of a safetensors file, on the host, row-major (see
// internal/safetensors).
type Tensor = safetensors.Tensor

// File is the content of a safetensors file: its tensors, in the order of their data,
// and the header's "__metadata__" string map.
type File = safetensors.File

// Encode writes f in the safetensors format (see internal/safetensors.Encode). The
// error, starting "checkpoint: ", names a tensor with an empty or reserved or repeated
// name, a dtype other than F32 and I64, a negative dimension, or values that do not fill
// its shape; or it is the writer's error.
func Encode(w io.Writer, f *File) error {
	if err := encode(w, f); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Decode parses a whole safetensors file held in b, accepting only what Encode writes
// and the format allows (see internal/safetensors.Decode). Its errors start
// "checkpoint: " and name the problem and, where there is one, the tensor.
func Decode(b []byte) (*File, error) {
	f, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return f, nil
}

func encode(w io.Writer, f *File) error { return safetensors.Encode(w, f) }

func decode(b []byte) (*File, error) { return safetensors.Decode(b) }

// truncate shortens a string from the file for an error message.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
