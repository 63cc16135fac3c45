// Package onnx writes ONNX models without generated code: ModelProto, GraphProto,
// NodeProto, TensorProto, ValueInfoProto and attributes encoded with protowire, for
// opsets 17 to 23 (ai.onnx domain) with the IR version of each opset's ONNX release.
//
// Graph is the builder a layer's export writes into: initializers from the weights
// (named by the layer's scope, as in checkpoints: "0.weight"), nodes in topological
// order, inputs and outputs with fixed or symbolic dimensions (Batch). The helpers
// (Dense, Linear, Gelu, BatchNorm, LayerNorm, Embedding, CausalSoftmax, LSTM, GRU) are
// the patterns that need more than one node or a change of weight layout.
//
// The package imports no part of nn, so that nn's layers can implement their export
// with it.
package onnx
