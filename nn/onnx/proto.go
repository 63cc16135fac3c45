package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The messages of onnx.proto, encoded by hand with protowire (no generated code): only
// the fields this package writes, in field-number order, repeated scalars unpacked
// (onnx.proto is proto2 and packs none of the ones written here). Field numbers are
// those of onnx/onnx.proto (ONNX 1.23).
const (
	// ModelProto
	modelIRVersion       = 1 // int64
	modelProducerName    = 2 // string
	modelProducerVersion = 3 // string
	modelDomain          = 4 // string
	modelVersion         = 5 // int64
	modelDocString       = 6 // string
	modelGraph           = 7 // GraphProto
	modelOpsetImport     = 8 // repeated OperatorSetIdProto
	modelMetadataProps   = 14

	// OperatorSetIdProto
	opsetDomain  = 1 // string
	opsetVersion = 2 // int64

	// StringStringEntryProto
	entryKey   = 1
	entryValue = 2

	// GraphProto
	graphNode        = 1 // repeated NodeProto
	graphName        = 2 // string
	graphInitializer = 5 // repeated TensorProto
	graphDocString   = 10
	graphInput       = 11 // repeated ValueInfoProto
	graphOutput      = 12 // repeated ValueInfoProto

	// NodeProto
	nodeInput     = 1 // repeated string
	nodeOutput    = 2 // repeated string
	nodeName      = 3 // string
	nodeOpType    = 4 // string
	nodeAttribute = 5 // repeated AttributeProto
	nodeDomain    = 7 // string

	// AttributeProto
	attrName    = 1  // string
	attrF       = 2  // float
	attrI       = 3  // int64
	attrS       = 4  // bytes
	attrT       = 5  // TensorProto
	attrFloats  = 7  // repeated float
	attrInts    = 8  // repeated int64
	attrStrings = 9  // repeated bytes
	attrType    = 20 // AttributeType enum

	// AttributeProto.AttributeType
	attrTypeFloat   = 1
	attrTypeInt     = 2
	attrTypeString  = 3
	attrTypeTensor  = 4
	attrTypeFloats  = 6
	attrTypeInts    = 7
	attrTypeStrings = 8

	// TensorProto
	tensorDims     = 1 // repeated int64
	tensorDataType = 2 // int32
	tensorName     = 8 // string
	tensorRawData  = 9 // bytes, little-endian

	// ValueInfoProto
	valueInfoName = 1 // string
	valueInfoType = 2 // TypeProto

	// TypeProto
	typeTensor = 1 // TypeProto.Tensor
	// TypeProto.Tensor
	typeTensorElem  = 1 // int32
	typeTensorShape = 2 // TensorShapeProto
	// TensorShapeProto
	shapeDim = 1 // repeated Dimension
	// TensorShapeProto.Dimension
	dimValue = 1 // int64
	dimParam = 2 // string
)

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// appendTensor appends a TensorProto: dims, data type, name and the data as raw
// little-endian bytes.
func appendTensor(b []byte, t *tensorData) []byte {
	for _, d := range t.dims {
		b = appendVarint(b, tensorDims, uint64(d))
	}
	b = appendVarint(b, tensorDataType, uint64(t.dtype))
	if t.name != "" {
		b = appendString(b, tensorName, t.name)
	}
	var raw []byte
	switch {
	case t.floats != nil:
		raw = make([]byte, 0, 4*len(t.floats))
		for _, f := range t.floats {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
		}
	case t.ints != nil:
		raw = make([]byte, 0, 8*len(t.ints))
		for _, v := range t.ints {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
	}
	return appendMessage(b, tensorRawData, raw)
}

// appendAttribute appends an AttributeProto.
func appendAttribute(b []byte, a Attr) []byte {
	b = appendString(b, attrName, a.name)
	switch a.kind {
	case attrTypeFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrTypeInt:
		b = appendVarint(b, attrI, uint64(a.i))
	case attrTypeString:
		b = appendString(b, attrS, a.s)
	case attrTypeTensor:
		b = appendMessage(b, attrT, appendTensor(nil, a.t))
	case attrTypeFloats:
		for _, f := range a.floats {
			b = protowire.AppendTag(b, attrFloats, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case attrTypeInts:
		for _, v := range a.ints {
			b = appendVarint(b, attrInts, uint64(v))
		}
	case attrTypeStrings:
		for _, s := range a.strings {
			b = appendString(b, attrStrings, s)
		}
	}
	return appendVarint(b, attrType, uint64(a.kind))
}

// appendNode appends a NodeProto.
func appendNode(b []byte, n *node) []byte {
	for _, in := range n.inputs {
		b = appendString(b, nodeInput, in)
	}
	for _, out := range n.outputs {
		b = appendString(b, nodeOutput, out)
	}
	b = appendString(b, nodeName, n.name)
	b = appendString(b, nodeOpType, n.op)
	for _, a := range n.attrs {
		b = appendMessage(b, nodeAttribute, appendAttribute(nil, a))
	}
	return b
}

// appendValueInfo appends a ValueInfoProto of a tensor with a shape.
func appendValueInfo(b []byte, v *valueInfo) []byte {
	b = appendString(b, valueInfoName, v.name)
	var shape []byte
	for _, d := range v.shape {
		var dim []byte
		if d.Param != "" {
			dim = appendString(dim, dimParam, d.Param)
		} else {
			dim = appendVarint(dim, dimValue, uint64(d.Size))
		}
		shape = appendMessage(shape, shapeDim, dim)
	}
	var tt []byte
	tt = appendVarint(tt, typeTensorElem, uint64(v.dtype))
	tt = appendMessage(tt, typeTensorShape, shape)
	return appendMessage(b, valueInfoType, appendMessage(nil, typeTensor, tt))
}
