package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Spec describes a Sequential model in JSON: the per-example input shape and the
// layers, in order. For example, a small CNN for 28×28 grey images:
//
//	{"input": [1, 28, 28], "layers": [
//	  {"type": "conv2d", "filters": 8, "kernel": 5, "padding": 2, "activation": "relu"},
//	  {"type": "maxpool2d", "size": 2},
//	  {"type": "flatten"},
//	  {"type": "dense", "units": 10, "activation": "softmax"}]}
//
// The layer types and their fields (omitted fields take the layer's defaults):
//
//	dense         units, activation, slope                  → Dense
//	conv2d        filters, kernel, stride, padding, activation, slope → Conv2D
//	maxpool2d     size, stride, padding                     → Pool2D (max)
//	avgpool2d     size, stride, padding                     → Pool2D (average)
//	batchnorm     momentum, eps                             → BatchNorm
//	dropout       rate                                      → Dropout
//	flatten                                                 → Flatten
//	reshape       shape                                     → Reshape
//	activation    activation, slope                         → ActivationLayer
//	random_shift  max_shift, flip_h                         → RandomShift
//
// Activations are named as Activation.String writes them ("relu", "softmax"…).
// ParseSpec reads a Spec, Model makes its layers, Build builds them on a device, and
// SpecOf describes a model made in Go as a Spec (the form gputrain -json reports as
// model_spec).
type Spec struct {
	// Input is the per-example input shape, (features) or (channels, height, width).
	// It may be left out where the caller supplies the shape (the data's).
	Input  []int       `json:"input,omitempty"`
	Layers []LayerSpec `json:"layers"`
}

// LayerSpec is one layer of a Spec: its Type and the fields that type takes (see Spec).
type LayerSpec struct {
	Type       string  `json:"type"`
	Units      int     `json:"units,omitempty"`
	Filters    int     `json:"filters,omitempty"`
	Kernel     int     `json:"kernel,omitempty"`
	Size       int     `json:"size,omitempty"`
	Stride     int     `json:"stride,omitempty"`
	Padding    int     `json:"padding,omitempty"`
	Activation string  `json:"activation,omitempty"`
	Slope      float32 `json:"slope,omitempty"`
	Rate       float32 `json:"rate,omitempty"`
	Momentum   float32 `json:"momentum,omitempty"`
	Eps        float32 `json:"eps,omitempty"`
	Shape      []int   `json:"shape,omitempty"`
	MaxShift   int     `json:"max_shift,omitempty"`
	FlipH      bool    `json:"flip_h,omitempty"`
}

// specFields lists the fields each layer type takes, besides "type".
var specFields = map[string][]string{
	"dense":        {"units", "activation", "slope"},
	"conv2d":       {"filters", "kernel", "stride", "padding", "activation", "slope"},
	"maxpool2d":    {"size", "stride", "padding"},
	"avgpool2d":    {"size", "stride", "padding"},
	"batchnorm":    {"momentum", "eps"},
	"dropout":      {"rate"},
	"flatten":      {},
	"reshape":      {"shape"},
	"activation":   {"activation", "slope"},
	"random_shift": {"max_shift", "flip_h"},
}

// SpecTypes lists the layer types a Spec may use, sorted.
func SpecTypes() []string {
	var ts []string
	for t := range specFields {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
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
// that are unknown or of the wrong JSON type, a layer type that does not exist, a field
// its layer type does not take, anything after the JSON object, and Validate's errors;
// a layer's errors name its index and type ("layer 2 (conv2d): …").
func ParseSpec(r io.Reader) (*Spec, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("nn: spec: %w", err)
	}
	var raw struct {
		Input  []int             `json:"input"`
		Layers []json.RawMessage `json:"layers"`
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("nn: spec%s", jsonError(src, 0, err))
	}
	if rest := bytes.TrimLeft(src[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("nn: spec: %s: unexpected data after the model description", position(src, len(src)-len(rest)))
	}
	if raw.Layers == nil {
		return nil, fmt.Errorf(`nn: spec: no "layers" list`)
	}
	s := &Spec{Input: raw.Input, Layers: make([]LayerSpec, len(raw.Layers))}
	at := 0 // where the next layer's text starts, for positions in error messages
	for i, msg := range raw.Layers {
		off := at + max(bytes.Index(src[at:], msg), 0)
		at = off + len(msg)
		if err := decodeLayer(msg, &s.Layers[i]); err != nil {
			return nil, fmt.Errorf("nn: spec: layer %d%s", i, jsonError(src, off, err))
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// layerError is a decoding error already phrased for a layer.
type layerError struct{ msg string }

func (e layerError) Error() string { return e.msg }

// decodeLayer reads one layer object, checking its type and that it has only the
// fields its type takes.
func decodeLayer(msg json.RawMessage, l *LayerSpec) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(msg, &fields); err != nil {
		return err
	}
	var typ string
	if t, ok := fields["type"]; !ok {
		return layerError{`: no "type" (want one of ` + strings.Join(SpecTypes(), ", ") + ")"}
	} else if err := json.Unmarshal(t, &typ); err != nil {
		return layerError{fmt.Sprintf(`: "type" must be a string, got %s`, t)}
	}
	allowed, ok := specFields[typ]
	if !ok {
		return layerError{fmt.Sprintf(": unknown layer type %q (want one of %s)", typ, strings.Join(SpecTypes(), ", "))}
	}
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k != "type" && !slices.Contains(allowed, k) {
			takes := "no fields"
			if len(allowed) > 0 {
				takes = strings.Join(allowed, ", ")
			}
			if _, known := specJSONFields[k]; !known {
				return layerError{fmt.Sprintf(" (%s): unknown field %q (%s takes %s)", typ, k, typ, takes)}
			}
			return layerError{fmt.Sprintf(" (%s): field %q does not apply to %s (it takes %s)", typ, k, typ, takes)}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(l); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return layerError{fmt.Sprintf(" (%s): field %q: want %s, got %s", typ, te.Field, typeWords(te.Type), te.Value)}
		}
		return err
	}
	return nil
}

// typeWords names a Go type as a JSON value ("a whole number", "a list").
func typeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// specJSONFields is the set of every JSON field name of LayerSpec.
var specJSONFields = func() map[string]bool {
	m := map[string]bool{}
	for _, fs := range specFields {
		for _, f := range fs {
			m[f] = true
		}
	}
	return m
}()

// jsonError phrases a JSON decoding error with the line and column it happened at; off
// is the offset in src of the text that was being decoded.
func jsonError(src []byte, off int, err error) string {
	var le layerError
	if errors.As(err, &le) {
		return le.msg
	}
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
		return ": unknown field " + msg + ` (a model description has "input" and "layers")`
	}
	if errors.Is(err, io.EOF) {
		return ": empty model description"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return ": the model description ends early (unclosed { or [)"
	}
	return ": " + strings.TrimPrefix(err.Error(), "json: ")
}

// position is "line L, column C" (1-based) of byte offset off in src.
func position(src []byte, off int) string {
	off = min(max(off, 0), len(src))
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(src[:off], '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// Validate checks the Spec without building it: the input shape's dimensions are
// positive, there is at least one layer, every layer type exists and its sizes are in
// range (units, filters, kernel and size positive; stride, padding and max shift not
// negative; rate in [0, 1); momentum in (0, 1]; eps not negative; known activations, and
// elementwise ones for conv2d). Whether the layers' shapes fit together is Build's to
// say. Errors start "nn: spec: " and name the layer by index and type.
func (s *Spec) Validate() error {
	if s == nil {
		return fmt.Errorf("nn: spec: nil")
	}
	for _, d := range s.Input {
		if d <= 0 {
			return fmt.Errorf("nn: spec: input shape %v has a dimension that is not positive", s.Input)
		}
	}
	if len(s.Layers) == 0 {
		return fmt.Errorf("nn: spec: no layers")
	}
	for i, l := range s.Layers {
		if err := l.validate(); err != nil {
			return fmt.Errorf("nn: spec: layer %d (%s): %w", i, l.Type, err)
		}
	}
	return nil
}

func (l LayerSpec) validate() error {
	if _, ok := specFields[l.Type]; !ok {
		return fmt.Errorf("unknown layer type %q (want one of %s)", l.Type, strings.Join(SpecTypes(), ", "))
	}
	positive := func(name string, v int) error {
		if v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", name, v)
		}
		return nil
	}
	notNegative := func(name string, v int) error {
		if v < 0 {
			return fmt.Errorf("%s must not be negative, got %d", name, v)
		}
		return nil
	}
	act, err := ParseActivation(l.Activation)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "nn: "))
	}
	if !(l.Slope >= 0) {
		return fmt.Errorf("slope must not be negative, got %v", l.Slope)
	}
	switch l.Type {
	case "dense":
		return positive("units", l.Units)
	case "conv2d":
		if act == Softmax {
			return fmt.Errorf("activation softmax is not elementwise (add a flatten and a dense layer)")
		}
		return errors.Join(positive("filters", l.Filters), positive("kernel", l.Kernel),
			notNegative("stride", l.Stride), notNegative("padding", l.Padding))
	case "maxpool2d", "avgpool2d":
		return errors.Join(positive("size", l.Size), notNegative("stride", l.Stride), notNegative("padding", l.Padding))
	case "batchnorm":
		if !(l.Momentum >= 0 && l.Momentum <= 1) {
			return fmt.Errorf("momentum must be in (0, 1] (0 or left out: 0.1), got %v", l.Momentum)
		}
		if !(l.Eps >= 0 && l.Eps <= 1) {
			return fmt.Errorf("eps must be in (0, 1] (0 or left out: 1e-5), got %v", l.Eps)
		}
	case "dropout":
		if !(l.Rate >= 0 && l.Rate < 1) {
			return fmt.Errorf("rate must be in [0, 1), got %v", l.Rate)
		}
	case "reshape":
		if len(l.Shape) == 0 {
			return fmt.Errorf("no shape")
		}
		for _, d := range l.Shape {
			if d <= 0 {
				return fmt.Errorf("shape %v has a dimension that is not positive", l.Shape)
			}
		}
	case "activation":
		if l.Activation == "" {
			return fmt.Errorf("no activation")
		}
	case "random_shift":
		return notNegative("max_shift", l.MaxShift)
	}
	return nil
}

// Model validates the Spec and makes its layers, in a Sequential not built yet (a
// Trainer builds it for the data's shape, or call Build).
func (s *Spec) Model() (*Sequential, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	layers := make([]Layer, len(s.Layers))
	for i, l := range s.Layers {
		act, _ := ParseActivation(l.Activation)
		switch l.Type {
		case "dense":
			layers[i] = &Dense{Units: l.Units, Act: act, Slope: l.Slope}
		case "conv2d":
			layers[i] = &Conv2D{Filters: l.Filters, Kernel: l.Kernel, Stride: l.Stride, Padding: l.Padding, Act: act, Slope: l.Slope}
		case "maxpool2d":
			layers[i] = &Pool2D{Op: device.MaxPool, Size: l.Size, Stride: l.Stride, Padding: l.Padding}
		case "avgpool2d":
			layers[i] = &Pool2D{Op: device.AvgPool, Size: l.Size, Stride: l.Stride, Padding: l.Padding}
		case "batchnorm":
			layers[i] = &BatchNorm{Momentum: l.Momentum, Eps: l.Eps}
		case "dropout":
			layers[i] = &Dropout{Rate: l.Rate}
		case "flatten":
			layers[i] = NewFlatten()
		case "reshape":
			layers[i] = NewReshape(slices.Clone(l.Shape)...)
		case "activation":
			layers[i] = &ActivationLayer{Fn: act, Slope: l.Slope}
		case "random_shift":
			layers[i] = &RandomShift{MaxShift: l.MaxShift, FlipH: l.FlipH}
		}
	}
	return NewSequential(layers...), nil
}

// Build makes the Spec's model and builds it on dev for its Input shape, batches of up
// to maxBatch and initial weights drawn from seed (Sequential.Build). Its error says
// where the layers' shapes do not fit, naming the layer by index and type.
func (s *Spec) Build(dev device.Backend, maxBatch int, seed uint64) (*Sequential, error) {
	m, err := s.Model()
	if err != nil {
		return nil, err
	}
	if len(s.Input) == 0 {
		return nil, fmt.Errorf("nn: spec: no input shape")
	}
	if err := m.Build(dev, tensor.Shape(s.Input), maxBatch, seed); err != nil {
		return nil, err
	}
	return m, nil
}

// JSON returns the Spec as indented JSON, as ParseSpec reads it.
func (s *Spec) JSON() []byte {
	b, _ := json.MarshalIndent(s, "", "  ") // a Spec always marshals
	return append(b, '\n')
}

// SpecOf describes m, a model of this package's layers, as a Spec; Input is the shape m
// was built for (nil before Build). Model() of the result makes the same architecture.
// The error names the first layer no Spec type describes (a layer type of another
// package).
func SpecOf(m *Sequential) (*Spec, error) {
	if m == nil {
		return nil, fmt.Errorf("nn: spec: nil model")
	}
	s := &Spec{Input: slices.Clone([]int(m.in)), Layers: make([]LayerSpec, len(m.Layers))}
	actName := func(a Activation) string {
		if a == Linear {
			return ""
		}
		return a.String()
	}
	for i, l := range m.Layers {
		var ls LayerSpec
		switch l := l.(type) {
		case *Dense:
			ls = LayerSpec{Type: "dense", Units: l.Units, Activation: actName(l.Act), Slope: l.Slope}
		case *Conv2D:
			ls = LayerSpec{Type: "conv2d", Filters: l.Filters, Kernel: l.Kernel, Stride: l.Stride, Padding: l.Padding, Activation: actName(l.Act), Slope: l.Slope}
		case *Pool2D:
			t := "maxpool2d"
			if l.Op == device.AvgPool {
				t = "avgpool2d"
			}
			ls = LayerSpec{Type: t, Size: l.Size, Stride: l.Stride, Padding: l.Padding}
		case *BatchNorm:
			ls = LayerSpec{Type: "batchnorm", Momentum: l.Momentum, Eps: l.Eps}
		case *Dropout:
			ls = LayerSpec{Type: "dropout", Rate: l.Rate}
		case *Flatten:
			ls = LayerSpec{Type: "flatten"}
		case *Reshape:
			ls = LayerSpec{Type: "reshape", Shape: slices.Clone(l.Shape)}
		case *ActivationLayer:
			if l.Fn == Linear {
				ls = LayerSpec{Type: "activation", Activation: "linear", Slope: l.Slope}
			} else {
				ls = LayerSpec{Type: "activation", Activation: l.Fn.String(), Slope: l.Slope}
			}
		case *RandomShift:
			ls = LayerSpec{Type: "random_shift", MaxShift: l.MaxShift, FlipH: l.FlipH}
		default:
			return nil, fmt.Errorf("nn: spec: layer %d: no description for layer type %T (%s)", i, l, l.Kind())
		}
		s.Layers[i] = ls
	}
	return s, nil
}
