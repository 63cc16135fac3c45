// Package data reads the data sets the engine trains from.
//
// The files are in the IDX format of the MNIST distribution (ReadIDX, DecodeIDX): a
// four-byte magic (two zero bytes, an element-type byte, a dimension-count byte), one
// big-endian uint32 size per dimension, then the elements in row-major order. Only the
// unsigned-byte element type (0x08) is read, which is what MNIST and Fashion-MNIST use.
// Files may be gzip-compressed; compression is recognised by its magic bytes, not by the
// file name.
//
// LoadMNIST and LoadFashionMNIST read the four files of an MNIST-shaped data set into a
// Dataset of two Splits (train and test). A Split keeps the raw bytes: images are
// N×H×W uint8 in row-major order, labels are N uint8 class indices. Split.Head, Split.Tail
// and Split.SplitLast cut a split without copying, and Split.Dense converts one to
// gorgonia.org/tensor arrays.
//
// Every error names the package ("data: "), the file or split it is about, and the
// offending value. Malformed input gives an error, never a panic, and a header that claims
// more data than the file holds never makes the reader allocate the claimed size up front.
package data
