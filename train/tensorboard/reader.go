package tensorboard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// Event is a decoded event: the fields this package writes. Other fields and summary
// kinds are skipped.
type Event struct {
	WallTime    float64
	Step        int64
	FileVersion string
	Values      []Value
}

// Value is one decoded Summary.Value.
type Value struct {
	Tag string
	// Plugin is the name in the value's metadata ("" without metadata).
	Plugin string
	// Scalar is the simple_value, when HasScalar.
	Scalar    float32
	HasScalar bool
	// Histogram is the histo field, or nil.
	Histogram *Histogram
	// Strings are the string_val of the value's tensor (a text summary's markdown).
	Strings []string
}

// ReadFile reads every event of an event file, checking each record's checksums.
// Errors name the path and, for corrupt records, the byte offset.
func ReadFile(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	defer f.Close()
	evs, err := ReadEvents(bufio.NewReader(f))
	if err != nil {
		return evs, fmt.Errorf("%s: %w", path, err)
	}
	return evs, nil
}

// ReadEvents reads the events of r up to its end.
func ReadEvents(r io.Reader) ([]Event, error) {
	rr := NewRecordReader(r)
	var evs []Event
	for {
		data, err := rr.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		ev, err := decodeEvent(data)
		if err != nil {
			return evs, fmt.Errorf("tensorboard: event %d: %w", len(evs), err)
		}
		evs = append(evs, ev)
	}
}

// errProto is the error of malformed protocol buffer data.
var errProto = errors.New("malformed protocol buffer")

// fields calls f for each field of the message b, with the field's number, wire type
// and value (a varint or fixed value in v, a length-delimited one in data).
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errProto
		}
		b = b[n:]
		var v uint64
		var data []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(b)
			v = uint64(v32)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			data, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errProto
		}
		b = b[n:]
		if err := f(num, typ, v, data); err != nil {
			return err
		}
	}
	return nil
}

func decodeEvent(b []byte) (Event, error) {
	var ev Event
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch {
		case num == eventWallTime && typ == protowire.Fixed64Type:
			ev.WallTime = math.Float64frombits(v)
		case num == eventStep && typ == protowire.VarintType:
			ev.Step = int64(v)
		case num == eventFileVersion && typ == protowire.BytesType:
			ev.FileVersion = string(data)
		case num == eventSummary && typ == protowire.BytesType:
			return fields(data, func(num protowire.Number, typ protowire.Type, _ uint64, data []byte) error {
				if num != summaryValue || typ != protowire.BytesType {
					return nil
				}
				val, err := decodeValue(data)
				ev.Values = append(ev.Values, val)
				return err
			})
		}
		return nil
	})
	return ev, err
}

func decodeValue(b []byte) (Value, error) {
	var val Value
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch {
		case num == valueTag && typ == protowire.BytesType:
			val.Tag = string(data)
		case num == valueSimple && typ == protowire.Fixed32Type:
			val.Scalar, val.HasScalar = math.Float32frombits(uint32(v)), true
		case num == valueHisto && typ == protowire.BytesType:
			h, err := decodeHistogram(data)
			val.Histogram = h
			return err
		case num == valueMetadata && typ == protowire.BytesType:
			return fields(data, func(num protowire.Number, typ protowire.Type, _ uint64, data []byte) error {
				if num != metadataPluginData || typ != protowire.BytesType {
					return nil
				}
				return fields(data, func(num protowire.Number, typ protowire.Type, _ uint64, data []byte) error {
					if num == pluginName && typ == protowire.BytesType {
						val.Plugin = string(data)
					}
					return nil
				})
			})
		case num == valueTensor && typ == protowire.BytesType:
			return fields(data, func(num protowire.Number, typ protowire.Type, _ uint64, data []byte) error {
				if num == tensorStringVal && typ == protowire.BytesType {
					val.Strings = append(val.Strings, string(data))
				}
				return nil
			})
		}
		return nil
	})
	return val, err
}

func decodeHistogram(b []byte) (*Histogram, error) {
	h := &Histogram{}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		f := math.Float64frombits(v)
		switch num {
		case histoMin:
			h.Min = f
		case histoMax:
			h.Max = f
		case histoNum:
			h.Num = f
		case histoSum:
			h.Sum = f
		case histoSumSquares:
			h.SumSquares = f
		case histoBucketLimit, histoBucket:
			dst := &h.BucketLimit
			if num == histoBucket {
				dst = &h.Bucket
			}
			if typ == protowire.Fixed64Type { // unpacked
				*dst = append(*dst, f)
				return nil
			}
			if typ != protowire.BytesType || len(data)%8 != 0 {
				return errProto
			}
			for ; len(data) > 0; data = data[8:] {
				x, _ := protowire.ConsumeFixed64(data)
				*dst = append(*dst, math.Float64frombits(x))
			}
		}
		return nil
	})
	return h, err
}
