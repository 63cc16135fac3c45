package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

func TestVocab(t *testing.T) {
	v, err := NewVocab([]byte("\n !ab"))
	require.NoError(t, err)
	assert.Equal(t, 5, v.Size())
	tokens := make([]int32, 6)
	require.NoError(t, v.Encode([]byte("ab! \nb"), tokens))
	assert.Equal(t, []int32{3, 4, 2, 1, 0, 4}, tokens)
	back, err := v.Decode(tokens)
	require.NoError(t, err)
	assert.Equal(t, "ab! \nb", string(back))

	assert.ErrorContains(t, v.Encode([]byte("abc"), make([]int32, 3)), `byte 2 ('c') is not in the vocabulary of 5 bytes`)
	assert.ErrorContains(t, v.Encode([]byte("ab"), make([]int32, 3)), "encode 2 bytes into 3 tokens")
	_, err = v.Decode([]int32{0, 5})
	assert.ErrorContains(t, err, "token 1 is 5, outside the vocabulary [0, 5)")
	_, err = NewVocab([]byte("ba"))
	assert.ErrorContains(t, err, "strictly increasing: byte 1 is 0x61 after 0x62")
	_, err = NewVocab([]byte("aa"))
	assert.ErrorContains(t, err, "strictly increasing")
	_, err = NewVocab(nil)
	assert.ErrorContains(t, err, "empty vocabulary")
}

// textOf returns n bytes of "the quick brown fox ... " repeated.
func textOf(n int) []byte {
	const s = "the quick brown fox jumps over the lazy dog. "
	return []byte(strings.Repeat(s, n/len(s)+1)[:n])
}

func TestNewText(t *testing.T) {
	b := textOf(100)
	tx, err := NewText(b, "t.txt", 9)
	require.NoError(t, err)
	assert.Equal(t, "text:t.txt", tx.Name)
	assert.Equal(t, []byte(" .abcdefghijklmnopqrstuvwxyz"), tx.Vocab.Bytes, "the sorted distinct bytes")
	require.Len(t, tx.Train, 90)
	require.Len(t, tx.Val, 10)
	dec, err := tx.Vocab.Decode(toInt32(tx.Train))
	require.NoError(t, err)
	assert.Equal(t, string(b[:90]), string(dec))
	dec, err = tx.Vocab.Decode(toInt32(tx.Val))
	require.NoError(t, err)
	assert.Equal(t, string(b[90:]), string(dec))

	// 10 context + 1 bytes is the least: the validation split is then context+1 bytes.
	assert.Equal(t, 91, MinTextLen(9))
	_, err = NewText(textOf(91), "t.txt", 9)
	require.NoError(t, err)
	_, err = NewText(textOf(90), "t.txt", 9)
	assert.ErrorContains(t, err, "data: text: t.txt: 90 bytes, too short for windows of 9 characters: each split needs 10 (a window and the character after it), so with the last 10% validating the file needs at least 91 bytes")

	for _, c := range []struct {
		name string
		b    []byte
		ctx  int
		want string
	}{
		{"empty", nil, 4, "data: text: e.txt: empty file"},
		{"NUL", append(textOf(60), 0, 'a'), 4, "data: text: e.txt: byte 60 is NUL: a binary file, not text (text is UTF-8 without NUL bytes)"},
		{"Latin-1", append([]byte("caf\xe9 au lait "), textOf(60)...), 4, "data: text: e.txt: byte 3 starts an invalid UTF-8 sequence: a binary file or another encoding"},
		{"context 0", textOf(60), 0, "context 0; want at least 1 character"},
		{"huge context", textOf(60), int(^uint(0) >> 2), "too short for windows of"},
	} {
		_, err := NewText(c.b, "e.txt", c.ctx)
		assert.ErrorContains(t, err, c.want, c.name)
	}
	// UTF-8 beyond ASCII is text; its bytes are tokens.
	tx, err = NewText(append([]byte("é"), textOf(60)...), "u.txt", 4)
	require.NoError(t, err)
	assert.Equal(t, []byte{'z', 0xa9, 0xc3}, tx.Vocab.Bytes[len(tx.Vocab.Bytes)-3:])
}

func toInt32(b []uint8) []int32 {
	out := make([]int32, len(b))
	for i, c := range b {
		out[i] = int32(c)
	}
	return out
}

func TestTextSampler(t *testing.T) {
	const ctx, batch = 5, 4
	b := textOf(200)
	tx, err := NewText(b, "t.txt", ctx)
	require.NoError(t, err)
	train := string(b[:180])
	s := tx.Sampler(3)
	in, tg := make([]int32, batch*ctx), make([]int32, batch*ctx)
	starts := map[int]bool{}
	for range 2000 {
		require.NoError(t, s.Next(in, tg))
		for w := range batch {
			x, err := tx.Vocab.Decode(in[w*ctx : (w+1)*ctx])
			require.NoError(t, err)
			y, err := tx.Vocab.Decode(tg[w*ctx : (w+1)*ctx])
			require.NoError(t, err)
			// The targets are the inputs shifted by one character, inside the training split.
			assert.Equal(t, string(x[1:]), string(y[:ctx-1]))
			at := strings.Index(train, string(x)+string(y[ctx-1:]))
			require.GreaterOrEqual(t, at, 0, "window %q is not in the training split", x)
			starts[at] = true
		}
	}
	// Starts 0..174 are possible; the last, 174, is a window ending at the split's end.
	// (Text repeats every 45 bytes, so Index finds the first of equal windows: 0..44.)
	assert.Len(t, starts, 45)

	// The same seed gives the same windows.
	a, b2 := tx.Sampler(9), tx.Sampler(9)
	in2, tg2 := make([]int32, batch*ctx), make([]int32, batch*ctx)
	require.NoError(t, a.Next(in, tg))
	require.NoError(t, b2.Next(in2, tg2))
	assert.Equal(t, in, in2)
	assert.Equal(t, tg, tg2)

	allocs := testing.AllocsPerRun(100, func() { _ = s.Next(in, tg) })
	assert.Zero(t, allocs, "a step's windows allocate nothing")
	assert.ErrorContains(t, s.Next(in[:7], tg[:7]), "windows of 5 characters into 7 inputs and 7 targets")
	assert.ErrorContains(t, s.Next(in, tg[:5]), "into 20 inputs and 5 targets")
}

// TestTextSamplerEnds checks that the first and the last window of the training split
// are drawn, on a text whose windows are all different (93 bytes of 90 distinct values,
// so no 3 bytes repeat within the 83 of the training split).
func TestTextSamplerEnds(t *testing.T) {
	b := make([]byte, 0, 93)
	for i := range 93 {
		b = append(b, byte('!'+i%90))
	}
	tx, err := NewText(b, "t.txt", 3)
	require.NoError(t, err)
	s := tx.Sampler(1)
	in, tg := make([]int32, 3), make([]int32, 3)
	first, last := false, false
	for range 20000 {
		require.NoError(t, s.Next(in, tg))
		first = first || (in[0] == int32(tx.Train[0]) && in[1] == int32(tx.Train[1]) && in[2] == int32(tx.Train[2]))
		n := len(tx.Train)
		last = last || tg[2] == int32(tx.Train[n-1]) && tg[1] == int32(tx.Train[n-2]) && in[0] == int32(tx.Train[n-4])
	}
	assert.True(t, first, "the window at the start of the split is drawn")
	assert.True(t, last, "the window ending at the split's last character is drawn")
}

func TestTextValBatch(t *testing.T) {
	b := textOf(247) // validation: bytes 222..246, 25 bytes: (25-1)/4 = 6 windows of 4
	tx, err := NewText(b, "t.txt", 4)
	require.NoError(t, err)
	require.Len(t, tx.Val, 25)
	assert.Equal(t, 6, tx.ValWindows())
	in, tg := make([]int32, 4*4), make([]int32, 4*4)
	var seenIn, seenTg string
	for first := 0; ; first += 4 {
		n, err := tx.ValBatch(first, in, tg)
		require.NoError(t, err)
		if n == 0 {
			break
		}
		x, err := tx.Vocab.Decode(in[:n*4])
		require.NoError(t, err)
		y, err := tx.Vocab.Decode(tg[:n*4])
		require.NoError(t, err)
		seenIn += string(x)
		seenTg += string(y)
	}
	// Non-overlapping windows covering the split but its last, unpredicted, byte.
	assert.Equal(t, string(b[222:246]), seenIn)
	assert.Equal(t, string(b[223:247]), seenTg)
	allocs := testing.AllocsPerRun(100, func() { _, _ = tx.ValBatch(0, in, tg) })
	assert.Zero(t, allocs)
	_, err = tx.ValBatch(-1, in, tg)
	assert.Error(t, err)
}

func TestLoadText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.txt")
	require.NoError(t, os.WriteFile(path, textOf(100), 0o644))
	tx, err := LoadText(path, 8)
	require.NoError(t, err)
	assert.Equal(t, "text:"+path, tx.Name)
	_, err = LoadText(filepath.Join(t.TempDir(), "none.txt"), 8)
	assert.ErrorContains(t, err, "data: text: open ")
	if _, err := os.Stat(DefaultTextFile); err != nil { // from the package directory it never is
		_, err = LoadText(DefaultTextFile, 8)
		assert.ErrorContains(t, err, "data/shakespeare/input.txt not found: run `make data-text`")
	}
}

// TestLoadTextReal reads the corpus `make data-text` builds.
func TestLoadTextReal(t *testing.T) {
	path := "../../" + DefaultTextFile
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not found: run `make data-text`", path)
	}
	tx, err := LoadText(path, 256)
	require.NoError(t, err)
	assert.Equal(t, 5057198, len(tx.Train)+len(tx.Val))
	assert.Equal(t, 84, tx.Vocab.Size())
	assert.Equal(t, 5057198*9/10, len(tx.Train))
	assert.Equal(t, (len(tx.Val)-1)/256, tx.ValWindows())
}

func TestRowSequence(t *testing.T) {
	// Two 1×3×4 images, pixel value = 100*image + 10*row + column.
	pix := make([]uint8, 2*3*4)
	for i := range 2 {
		for y := range 3 {
			for x := range 4 {
				pix[(i*3+y)*4+x] = uint8(100*i + 10*y + x)
			}
		}
	}
	e := Examples{X: tensor.New(tensor.WithShape(2, 1, 3, 4), tensor.WithBacking(pix)),
		Y: tensor.New(tensor.WithShape(2), tensor.WithBacking([]int32{0, 1}))}
	s, err := e.RowSequence()
	require.NoError(t, err)
	assert.Equal(t, []int{3, 4}, s.Shape(), "3 steps of 4 pixels")
	v, err := s.X.At(1, 2, 3) // image 1, step (row) 2, pixel 3
	require.NoError(t, err)
	assert.Equal(t, uint8(123), v)
	_, err = s.RowSequence()
	assert.ErrorContains(t, err, "images of shape (1, H, W), got examples of shape [3 4]")
}
