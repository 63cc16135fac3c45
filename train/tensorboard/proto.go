package tensorboard

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The protocol buffer messages of an event file, encoded by hand with protowire (no
// generated code): only the fields this package writes or reads, in field-number order
// as protobuf's own serializers write them (so the bytes equal Python's
// SerializeToString). Field numbers are those of TensorFlow's event.proto,
// summary.proto, tensor.proto and tensor_shape.proto (the copies in
// tensorboard/compat/proto).
const (
	// Event
	eventWallTime    = 1 // double
	eventStep        = 2 // int64
	eventFileVersion = 3 // string
	eventSummary     = 5 // Summary

	// Summary
	summaryValue = 1 // repeated Summary.Value

	// Summary.Value
	valueTag      = 1 // string
	valueSimple   = 2 // float
	valueHisto    = 5 // HistogramProto
	valueTensor   = 8 // TensorProto
	valueMetadata = 9 // SummaryMetadata

	// SummaryMetadata
	metadataPluginData = 1 // PluginData
	metadataDataClass  = 4 // DataClass enum

	// SummaryMetadata.PluginData
	pluginName = 1 // string

	// HistogramProto
	histoMin         = 1 // double
	histoMax         = 2 // double
	histoNum         = 3 // double
	histoSum         = 4 // double
	histoSumSquares  = 5 // double
	histoBucketLimit = 6 // repeated double, packed
	histoBucket      = 7 // repeated double, packed

	// TensorProto
	tensorDType     = 1 // DataType enum
	tensorShape     = 2 // TensorShapeProto
	tensorStringVal = 8 // repeated bytes

	// Enum values.
	dtString        = 7 // DataType DT_STRING
	dataClassTensor = 2 // DataClass DATA_CLASS_TENSOR
)

// fileVersion is the first event of every file; TensorBoard's loader reads "2" from it.
const fileVersion = "brain.Event:2"

// textPlugin is the plugin name of TensorBoard's text dashboard. Its content, a
// TextPluginData message of version 0, encodes to no bytes.
const textPlugin = "text"

func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendStringField(b []byte, num protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// appendPackedDoubles appends a packed repeated double field (none for an empty v).
func appendPackedDoubles(b []byte, num protowire.Number, v []float64) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(8*len(v)))
	for _, x := range v {
		b = protowire.AppendFixed64(b, math.Float64bits(x))
	}
	return b
}

// appendEvent appends an Event with a wall time, a step and, when summary is not nil,
// the Summary message whose encoding it is.
func appendEvent(b []byte, wallTime float64, step int64, summary []byte) []byte {
	b = appendDouble(b, eventWallTime, wallTime)
	if step != 0 {
		b = appendVarintField(b, eventStep, uint64(step))
	}
	if summary != nil {
		b = appendBytesField(b, eventSummary, summary)
	}
	return b
}

// appendFileVersionEvent appends the Event that starts a file.
func appendFileVersionEvent(b []byte, wallTime float64) []byte {
	b = appendDouble(b, eventWallTime, wallTime)
	return appendStringField(b, eventFileVersion, fileVersion)
}

// appendScalarValue appends a Summary.Value holding simple_value v: the form Keras'
// TF1 callbacks and PyTorch's SummaryWriter write, which TensorBoard's scalar
// dashboard reads.
func appendScalarValue(b []byte, tag string, v float32) []byte {
	b = appendStringField(b, valueTag, tag)
	b = protowire.AppendTag(b, valueSimple, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

// appendHistogram appends a HistogramProto.
func appendHistogram(b []byte, h *Histogram) []byte {
	b = appendDouble(b, histoMin, h.Min)
	b = appendDouble(b, histoMax, h.Max)
	b = appendDouble(b, histoNum, h.Num)
	b = appendDouble(b, histoSum, h.Sum)
	b = appendDouble(b, histoSumSquares, h.SumSquares)
	b = appendPackedDoubles(b, histoBucketLimit, h.BucketLimit)
	return appendPackedDoubles(b, histoBucket, h.Bucket)
}

// appendHistogramValue appends a Summary.Value holding the histogram h.
func appendHistogramValue(b []byte, tag string, h *Histogram) []byte {
	b = appendStringField(b, valueTag, tag)
	return appendBytesField(b, valueHisto, appendHistogram(nil, h))
}

// appendTextValue appends a Summary.Value in the text plugin's format: metadata naming
// the "text" plugin (data class tensor) and a scalar DT_STRING tensor holding the
// markdown text.
func appendTextValue(b []byte, tag, text string) []byte {
	b = appendStringField(b, valueTag, tag)
	var plugin, meta, tensor []byte
	tensor = appendVarintField(tensor, tensorDType, dtString)
	tensor = appendBytesField(tensor, tensorShape, nil) // a scalar: no dimensions
	tensor = appendStringField(tensor, tensorStringVal, text)
	plugin = appendStringField(plugin, pluginName, textPlugin) // empty content: version 0
	meta = appendBytesField(meta, metadataPluginData, plugin)
	meta = appendVarintField(meta, metadataDataClass, dataClassTensor)
	b = appendBytesField(b, valueTensor, tensor)
	return appendBytesField(b, valueMetadata, meta)
}
