// Package safetensors reads and writes the safetensors format
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a
// JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. It is the project's own codec, shared by train/checkpoint (the
// checkpoint files) and device/devicetest (the PyTorch golden files of the conformance
// suite), and holds only what they need: F32 and I64 tensors and the "__metadata__"
// string map.
//
// Its errors describe the problem in the file (the tensor, the offsets, the header
// field) without a package prefix: the caller, who knows the file's name and purpose,
// puts its own in front ("checkpoint: run.safetensors: tensor \"w\": ...").
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DType is the element type of a tensor in a safetensors file, as the header spells it.
// Two are supported: F32 (weights, state, golden values) and I64 (counters such as
// PyTorch's num_batches_tracked, labels, indices).
type DType string

// The element types this package reads and writes.
const (
	F32 DType = "F32"
	I64 DType = "I64"
)

func (d DType) size() int {
	switch d {
	case F32:
		return 4
	case I64:
		return 8
	}
	return 0
}

// Tensor is one named tensor of a safetensors file, on the host, row-major: F32 holds
// the values of an F32 tensor, I64 those of an I64 one. An empty Shape is a scalar (one
// value).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	F32   []float32
	I64   []int64
}

// Len is the number of elements the shape holds (1 for a scalar).
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is the content of a safetensors file: its tensors, in the order of their data,
// and the header's "__metadata__" string map.
type File struct {
	Tensors  []Tensor
	Metadata map[string]string
}

// Tensor returns the tensor called name, or nil.
func (f *File) Tensor(name string) *Tensor {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i]
		}
	}
	return nil
}

// metadataKey is the header entry that holds the string map, not a tensor.
const metadataKey = "__metadata__"

// maxHeader bounds the JSON header (the reference implementation's limit).
const maxHeader = 100 << 20

// Encode writes f in the safetensors format: an 8-byte little-endian header length N,
// N bytes of JSON header padded with spaces to a multiple of 8 (so that the data is
// aligned), then each tensor's values, little-endian, in the order of f.Tensors.
//
// The error names a tensor with an empty or reserved or repeated name, a dtype other
// than F32 and I64, a negative dimension, or values that do not fill its shape; or it
// is the writer's error.
func Encode(w io.Writer, f *File) error {
	header := make(map[string]any, len(f.Tensors)+1)
	if len(f.Metadata) > 0 {
		header[metadataKey] = f.Metadata
	}
	type entry struct {
		DType       DType    `json:"dtype"`
		Shape       []int    `json:"shape"`
		DataOffsets [2]int64 `json:"data_offsets"`
	}
	var off int64
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if err := checkTensor(t); err != nil {
			return err
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("tensor %q: name used twice", t.Name)
		}
		n := int64(t.Len()) * int64(t.DType.size())
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = entry{t.DType, shape, [2]int64{off, off + n}}
		off += n
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(js)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for i := range f.Tensors {
		t := &f.Tensors[i]
		for j := 0; j < t.Len(); j++ {
			if t.DType == F32 {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(t.F32[j]))
			} else {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(t.I64[j]))
			}
			if len(buf) >= cap(buf)-8 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// checkTensor validates a tensor for Encode.
func checkTensor(t *Tensor) error {
	if t.Name == "" || t.Name == metadataKey {
		return fmt.Errorf("tensor name %q is empty or reserved", t.Name)
	}
	if !utf8.ValidString(t.Name) {
		return fmt.Errorf("tensor name %q is not UTF-8", t.Name)
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor %q: negative dimension in shape %v", t.Name, t.Shape)
		}
		n *= d
	}
	switch t.DType {
	case F32:
		if len(t.F32) != n || t.I64 != nil {
			return fmt.Errorf("tensor %q: %d F32 values (and %d I64) for shape %v", t.Name, len(t.F32), len(t.I64), t.Shape)
		}
	case I64:
		if len(t.I64) != n || t.F32 != nil {
			return fmt.Errorf("tensor %q: %d I64 values (and %d F32) for shape %v", t.Name, len(t.I64), len(t.F32), t.Shape)
		}
	default:
		return fmt.Errorf("tensor %q: dtype %q, want F32 or I64", t.Name, t.DType)
	}
	return nil
}

// rawTensor is a header entry before its data is read.
type rawTensor struct {
	name       string
	dtype      DType
	shape      []int
	begin, end uint64
}

// Decode parses a whole safetensors file held in b and copies its tensors to the host.
// It accepts only what Encode writes and the format allows: the header length fits in
// the file and under 100 MiB; the header is UTF-8 JSON, one object starting with '{'
// and followed by nothing but whitespace; "__metadata__", if present, maps strings to
// strings; every other entry is a tensor with exactly "dtype" (F32 or I64), "shape"
// (non-negative integers) and "data_offsets" ([begin, end] relative to the data);
// no name appears twice, at either level; each tensor's bytes are its element count
// times its element size; and the tensors, in offset order, cover the data after the
// header exactly: contiguous from 0, without gaps, overlaps or trailing bytes.
//
// Its errors name the problem and, where there is one, the tensor.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length (truncated, or not a safetensors file)", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	rest := uint64(len(b) - 8)
	if n > rest {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes that follow it (truncated, or not a safetensors file)", n, rest)
	}
	if n > maxHeader {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", n, maxHeader)
	}
	header, data := b[8:8+n], b[8+n:]
	if len(header) == 0 || header[0] != '{' {
		return nil, fmt.Errorf("header does not start with '{' (not a safetensors file)")
	}
	if !utf8.Valid(header) {
		return nil, fmt.Errorf("header is not valid UTF-8")
	}
	meta, raws, err := parseHeader(header)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	// In offset order the tensors must tile the data exactly.
	sort.SliceStable(raws, func(i, j int) bool {
		if raws[i].begin != raws[j].begin {
			return raws[i].begin < raws[j].begin
		}
		return raws[i].end < raws[j].end
	})
	var at uint64
	for _, r := range raws {
		if r.begin != at {
			if r.begin < at {
				return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the previous tensor's data, which ends at %d", r.name, r.begin, r.end, at)
			}
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap after byte %d", r.name, r.begin, r.end, at)
		}
		if r.end < r.begin {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] end before they begin", r.name, r.begin, r.end)
		}
		count, ok := elements(r.shape)
		size := uint64(r.dtype.size())
		if !ok || count > (math.MaxUint64/size) || count*size != r.end-r.begin {
			return nil, fmt.Errorf("tensor %q: %s shape %v needs %s bytes, data_offsets [%d, %d] hold %d",
				r.name, r.dtype, r.shape, bytesNeeded(r.shape, size), r.begin, r.end, r.end-r.begin)
		}
		if r.end > uint64(len(data)) {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the end of the data (%d bytes; truncated file?)", r.name, r.begin, r.end, len(data))
		}
		at = r.end
	}
	if at != uint64(len(data)) {
		return nil, fmt.Errorf("the tensors cover %d bytes of data, but %d follow the header (trailing bytes)", at, len(data))
	}
	f := &File{Metadata: meta, Tensors: make([]Tensor, len(raws))}
	for i, r := range raws {
		t := Tensor{Name: r.name, DType: r.dtype, Shape: r.shape}
		src := data[r.begin:r.end]
		switch r.dtype {
		case F32:
			t.F32 = make([]float32, len(src)/4)
			for j := range t.F32 {
				t.F32[j] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*j:]))
			}
		case I64:
			t.I64 = make([]int64, len(src)/8)
			for j := range t.I64 {
				t.I64[j] = int64(binary.LittleEndian.Uint64(src[8*j:]))
			}
		}
		f.Tensors[i] = t
	}
	return f, nil
}

// elements is the product of shape, false on overflow past the format's 64-bit offsets.
func elements(shape []int) (uint64, bool) {
	n := uint64(1)
	for _, d := range shape {
		if d != 0 && n > math.MaxUint64/uint64(d) {
			return 0, false
		}
		n *= uint64(d)
	}
	return n, true
}

func bytesNeeded(shape []int, size uint64) string {
	n, ok := elements(shape)
	if !ok || n > math.MaxUint64/size {
		return "more than 2^64"
	}
	return strconv.FormatUint(n*size, 10)
}

// parseHeader reads the header object token by token, so that a repeated name is an
// error rather than silently replacing the first.
func parseHeader(header []byte) (map[string]string, []rawTensor, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	var meta map[string]string
	var raws []rawTensor
	seen := map[string]bool{}
	err := object(dec, "header", func(key string) error {
		if seen[key] {
			if key == metadataKey {
				return fmt.Errorf("%q appears twice", key)
			}
			return fmt.Errorf("tensor %q appears twice", key)
		}
		seen[key] = true
		if key == metadataKey {
			m, err := parseMetadata(dec)
			meta = m
			return err
		}
		if key == "" {
			return fmt.Errorf("a tensor has an empty name")
		}
		r, err := parseTensor(dec, key)
		raws = append(raws, r)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	// Only whitespace may follow the object (the format pads the header with spaces).
	rest := header[dec.InputOffset():]
	if len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		return nil, nil, fmt.Errorf("unexpected bytes after the JSON object at offset %d", dec.InputOffset())
	}
	return meta, raws, nil
}

// object reads one JSON object from dec, calling field for each key with dec positioned
// at its value; field must consume the value.
func object(dec *json.Decoder, what string, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s is %s, want a JSON object", what, describe(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(what, err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("%s: key is %s, want a string", what, describe(tok))
		}
		if err := field(key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return jsonErr(what, err)
	}
	return nil
}

func jsonErr(what string, err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: JSON ends too early", what)
	}
	return fmt.Errorf("%s: invalid JSON: %w", what, err)
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("the string %q", truncate(v))
	case json.Number:
		return "the number " + truncate(string(v))
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	m := map[string]string{}
	err := object(dec, metadataKey, func(key string) error {
		if _, dup := m[key]; dup {
			return fmt.Errorf("%s: key %q appears twice", metadataKey, key)
		}
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(metadataKey, err)
		}
		s, ok := tok.(string)
		if !ok {
			return fmt.Errorf("%s: %q is %s, want a string", metadataKey, key, describe(tok))
		}
		m[key] = s
		return nil
	})
	return m, err
}

func parseTensor(dec *json.Decoder, name string) (rawTensor, error) {
	r := rawTensor{name: name}
	what := fmt.Sprintf("tensor %q", name)
	var have []string
	err := object(dec, what, func(key string) error {
		if slices.Contains(have, key) {
			return fmt.Errorf("%s: %q appears twice", what, key)
		}
		have = append(have, key)
		switch key {
		case "dtype":
			tok, err := dec.Token()
			if err != nil {
				return jsonErr(what, err)
			}
			s, ok := tok.(string)
			if !ok {
				return fmt.Errorf("%s: dtype is %s, want a string", what, describe(tok))
			}
			r.dtype = DType(s)
			if r.dtype != F32 && r.dtype != I64 {
				return fmt.Errorf("%s: dtype %q is not supported (want F32 or I64)", what, truncate(s))
			}
		case "shape":
			dims, err := numbers(dec, what+": shape", -1)
			if err != nil {
				return err
			}
			r.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > math.MaxInt32 {
					return fmt.Errorf("%s: dimension %d of shape is %d, too large", what, i, d)
				}
				r.shape[i] = int(d)
			}
		case "data_offsets":
			offs, err := numbers(dec, what+": data_offsets", 2)
			if err != nil {
				return err
			}
			r.begin, r.end = offs[0], offs[1]
		default:
			return fmt.Errorf("%s: unknown field %q (want dtype, shape and data_offsets)", what, truncate(key))
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if len(have) != 3 {
		var missing []string
		for _, k := range []string{"dtype", "shape", "data_offsets"} {
			if !slices.Contains(have, k) {
				missing = append(missing, k)
			}
		}
		return r, fmt.Errorf("%s: missing %s", what, strings.Join(missing, ", "))
	}
	return r, nil
}

// numbers reads a JSON array of non-negative integers (of exactly want, if want >= 0).
func numbers(dec *json.Decoder, what string, want int) ([]uint64, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("%s is %s, want an array of integers", what, describe(tok))
	}
	var out []uint64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(what, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: element %d is %s, want a non-negative integer", what, len(out), describe(tok))
		}
		v, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: element %d is %s, want a non-negative integer below 2^64", what, len(out), truncate(string(num)))
		}
		out = append(out, v)
		if len(out) > 64 {
			return nil, fmt.Errorf("%s: more than 64 elements", what)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonErr(what, err)
	}
	if want >= 0 && len(out) != want {
		return nil, fmt.Errorf("%s has %d elements, want %d", what, len(out), want)
	}
	if out == nil {
		out = []uint64{}
	}
	return out, nil
}
