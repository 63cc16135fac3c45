package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Spec describes a model in JSON: the per-example input shape and the root module. A
// Sequential root is written as its list of layers; any other root under "model". For
// example, a small CNN for 28×28 grey images:
//
//	{"input": [1, 28, 28], "layers": [
//	  {"type": "conv2d", "filters": 8, "kernel": 5, "padding": 2, "activation": "relu"},
//	  {"type": "maxpool2d", "size": 2},
//	  {"type": "flatten"},
//	  {"type": "dense", "units": 10, "activation": "softmax"}]}
//
// and a residual block, nested:
//
//	{"input": [16], "model": {"type": "residual", "body": {"type": "sequential", "layers": [
//	  {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 16}]}}}
//
// Each object names its module type ("type") and gives the fields that type takes
// (omitted fields take the type's defaults). The built-in types and their fields:
//
//	dense         units, activation, slope, no_bias, tie_weight → Dense
//	conv2d        filters, kernel, stride, padding, activation, slope → Conv2D
//	maxpool2d     size, stride, padding                     → Pool2D (max)
//	avgpool2d     size, stride, padding                     → Pool2D (average)
//	global_avgpool                                          → GlobalAvgPool
//	batchnorm     momentum, eps                             → BatchNorm
//	dropout       rate                                      → Dropout
//	flatten                                                 → Flatten
//	reshape       shape                                     → Reshape
//	activation    activation, slope                         → ActivationLayer
//	random_shift  max_shift, flip_h                         → RandomShift
//	sequential    layers, names                             → Sequential
//	residual      body, shortcut                            → Residual
//	embedding     num, dim, std                             → Embedding
//	linear        out, no_bias, std, tie_weight             → LinearLayer (over the last axis)
//	layer_norm    eps, no_bias                              → LayerNorm
//	position_embedding num, std                             → PositionEmbedding
//	causal_self_attention heads, dropout, no_bias, std, proj_std → CausalSelfAttention
//	mlp           hidden, activation, dropout, no_bias, std, proj_std → MLP
//	transformer_block heads, hidden, activation, dropout, no_bias, std, proj_std → Block
//	gpt           vocab, context, layers, heads, dim, dropout, bias → GPT
//
// Kinds lists every registered type, your own included (Register). Activations are
// named as Activation.String writes them ("relu", "softmax"…). ParseSpec reads a Spec,
// its Model method makes fresh root modules from it, Build builds one on a device, and
// SpecOf describes a model made in Go (the form gputrain -json reports as model_spec,
// and the form checkpoints store).
type Spec struct {
	// Input is the per-example input shape, (features) or (channels, height, width).
	// It may be left out where the caller supplies the shape (the data's).
	Input []int
	// Root is the model's root module, unbuilt: a description, never built itself
	// (Model and Build make fresh modules from it).
	Root Module
}

// Layers returns the root's layers when it is a Sequential, else nil.
func (s *Spec) Layers() []Module {
	if seq, ok := s.Root.(*Sequential); ok {
		return seq.Layers
	}
	return nil
}

// ReadSpecFile reads a Spec from a JSON file; errors name the file (see ParseSpec).
func ReadSpecFile(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: model description: %w", err)
	}
	s, err := ParseSpec(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSpec reads one JSON Spec from r and validates it (Validate). Errors, each
// starting "nn: spec: ", report JSON syntax errors with their line and column, fields
// that are unknown or of the wrong JSON type, a module type that is not registered, a
// field its type does not take, anything after the JSON object, and each module's own
// checks; a layer's errors name its index and type ("layer 2 (conv2d): …"), a nested
// module's its path ("layer 3: body: layer 0 (conv2d): …").
func ParseSpec(r io.Reader) (*Spec, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("nn: spec: %w", err)
	}
	var raw struct {
		Input  []int           `json:"input"`
		Layers json.RawMessage `json:"layers"`
		Model  json.RawMessage `json:"model"`
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("nn: spec%s", jsonError(src, 0, err))
	}
	if rest := bytes.TrimLeft(src[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("nn: spec: %s: unexpected data after the model description", position(src, len(src)-len(rest)))
	}
	if raw.Layers != nil && raw.Model != nil {
		return nil, fmt.Errorf(`nn: spec: give "layers" (a sequential model) or "model", not both`)
	}
	if raw.Layers == nil && raw.Model == nil {
		return nil, fmt.Errorf(`nn: spec: no "layers" list (or "model" object)`)
	}
	d := decoder{src: src}
	top, err := d.object(src, 0)
	if err != nil {
		return nil, fmt.Errorf("nn: spec: %w", err)
	}
	s := &Spec{Input: raw.Input}
	for _, f := range top {
		switch f.key {
		case "layers":
			elems, err := d.array(f.val, f.off)
			if err != nil {
				return nil, fmt.Errorf(`nn: spec: "layers": %w`, err)
			}
			if len(elems) == 0 {
				return nil, fmt.Errorf("nn: spec: no layers")
			}
			seq := &Sequential{Layers: make([]Module, len(elems))}
			for i, e := range elems {
				if seq.Layers[i], err = d.module(e.val, e.off, fmt.Sprintf("layer %d", i)); err != nil {
					return nil, fmt.Errorf("nn: spec: %w", err)
				}
			}
			s.Root = seq
		case "model":
			if s.Root, err = d.module(f.val, f.off, "model"); err != nil {
				return nil, fmt.Errorf("nn: spec: %w", err)
			}
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// jsonError phrases a JSON decoding error with the line and column it happened at; off
// is the offset in src of the text that was being decoded.
func jsonError(src []byte, off int, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf(": %s: %v", position(src, off+int(se.Offset)), err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Sprintf(": %s: want a JSON object, got %s", position(src, off+int(te.Offset)), te.Value)
		}
		return fmt.Sprintf(": %s: field %q: want %s, got %s", position(src, off+int(te.Offset)), te.Field, typeWords(te.Type), te.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return ": unknown field " + msg + ` (a model description has "input", and "layers" or "model")`
	}
	if errors.Is(err, io.EOF) {
		return ": empty model description"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return ": the model description ends early (unclosed { or [)"
	}
	return ": " + strings.TrimPrefix(err.Error(), "json: ")
}

// Validate checks the Spec without building it: the input shape's dimensions are
// positive, there is a root module, and every module's own checks pass (each type's
// Validate: sizes in range, known activations…). Whether the modules' shapes fit
// together is Build's to say. Errors start "nn: spec: " and name the module.
func (s *Spec) Validate() error {
	if s == nil {
		return fmt.Errorf("nn: spec: nil")
	}
	for _, d := range s.Input {
		if d <= 0 {
			return fmt.Errorf("nn: spec: input shape %v has a dimension that is not positive", s.Input)
		}
	}
	if s.Root == nil {
		return fmt.Errorf("nn: spec: no model")
	}
	if seq, ok := s.Root.(*Sequential); ok && len(seq.Layers) == 0 {
		return fmt.Errorf("nn: spec: no layers")
	}
	// The codec checks every module of the tree on the way through.
	_, err := s.Model()
	return err
}

// Model makes a fresh, unbuilt root module from the Spec (a Trainer builds it for the
// data's shape, or wrap it in NewModel and Build it). Every call gives new modules.
func (s *Spec) Model() (Module, error) {
	if s == nil || s.Root == nil {
		return nil, fmt.Errorf("nn: spec: no model")
	}
	return CloneModule(s.Root)
}

// Build makes the Spec's model and builds it on dev for its Input shape, batches of up
// to maxBatch and initial weights drawn from seed. Its error says where the modules'
// shapes do not fit, naming the layer by index and type.
func (s *Spec) Build(dev device.Backend, maxBatch int, seed uint64) (*Model, error) {
	root, err := s.Model()
	if err != nil {
		return nil, err
	}
	if len(s.Input) == 0 {
		return nil, fmt.Errorf("nn: spec: no input shape")
	}
	m := NewModel(root)
	if err := m.Build(dev, tensor.Shape(s.Input), maxBatch, seed); err != nil {
		return nil, err
	}
	return m, nil
}

// MarshalJSON writes the Spec as ParseSpec reads it.
func (s *Spec) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(s.Input) > 0 {
		in, _ := json.Marshal(s.Input)
		b.WriteString(`"input":`)
		b.Write(in)
		b.WriteByte(',')
	}
	if seq, ok := s.Root.(*Sequential); ok && seq.Names == nil {
		b.WriteString(`"layers":[`)
		for i, l := range seq.Layers {
			if i > 0 {
				b.WriteByte(',')
			}
			raw, err := EncodeModule(l)
			if err != nil {
				return nil, err
			}
			b.Write(raw)
		}
		b.WriteString("]}")
		return b.Bytes(), nil
	}
	raw, err := EncodeModule(s.Root)
	if err != nil {
		return nil, err
	}
	b.WriteString(`"model":`)
	b.Write(raw)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a Spec as ParseSpec does.
func (s *Spec) UnmarshalJSON(b []byte) error {
	got, err := ParseSpec(bytes.NewReader(b))
	if err != nil {
		return err
	}
	*s = *got
	return nil
}

// JSON returns the Spec as indented JSON, as ParseSpec reads it.
func (s *Spec) JSON() []byte {
	raw, err := s.MarshalJSON()
	if err != nil {
		return []byte(fmt.Sprintf("{\"error\": %q}\n", err))
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return append(raw, '\n')
	}
	return append(out.Bytes(), '\n')
}

// SpecOf describes m as a Spec: a fresh copy of its root module's configuration and the
// shape it was built for (nil before Build). Its Model() makes the same architecture.
// The error names the first module whose type is not registered (see Register).
func SpecOf(m *Model) (*Spec, error) {
	if m == nil || m.root == nil {
		return nil, fmt.Errorf("nn: spec: nil model")
	}
	return SpecOfModule(m.root, m.in)
}

// SpecOfModule describes an unbuilt or built module tree with input shape in.
func SpecOfModule(root Module, in tensor.Shape) (*Spec, error) {
	clone, err := CloneModule(root)
	if err != nil {
		return nil, err
	}
	var input []int
	if in != nil {
		input = append([]int(nil), in...)
	}
	return &Spec{Input: input, Root: clone}, nil
}
