package plot_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/plot"
)

// overfitting is a history whose validation loss bottoms out at epoch 5 and then rises
// while the training loss keeps falling.
func overfitting(epochs int) *train.History {
	h := &train.History{Loss: "sparse_categorical_crossentropy", Classifies: true}
	for e := 1; e <= epochs; e++ {
		x := float64(e)
		h.Epochs = append(h.Epochs, train.EpochStats{Epoch: e, HasValidation: true,
			Loss: 1.5 * math.Exp(-x/3), Accuracy: 1 - 0.5*math.Exp(-x/2),
			ValLoss: 0.4 + 0.02*(x-5)*(x-5), ValAccuracy: 0.85 - 0.002*(x-5)*(x-5)})
	}
	return h
}

// count returns how many pixels of img have exactly colour c.
func count(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(bl>>8) == c.B && uint8(a>>8) == c.A {
				n++
			}
		}
	}
	return n
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return img
}

func TestWritePNGDrawsBothPanelsAndCurves(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, plot.WritePNG(&buf, overfitting(15), plot.Options{Title: "test"}))
	if dir := os.Getenv("PLOT_TEST_OUT"); dir != "" { // to look at it
		require.NoError(t, os.WriteFile(filepath.Join(dir, "overfitting.png"), buf.Bytes(), 0o644))
	}
	img := decode(t, buf.Bytes())
	assert.Equal(t, image.Rect(0, 0, 1200, 480), img.Bounds())
	white := color.RGBA{255, 255, 255, 255}
	total := 1200 * 480
	assert.Less(t, count(img, white), total*97/100, "not blank")
	// Both curves drawn in both panels: each colour in both halves of the image.
	left, right := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, 600, 480)), img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(600, 0, 1200, 480))
	for _, half := range []image.Image{left, right} {
		assert.Greater(t, count(half, plot.TrainColor), 300, "training curve in %v", half.Bounds())
		assert.Greater(t, count(half, plot.ValColor), 200, "validation curve in %v", half.Bounds())
	}
}

func TestWritePNGWithoutValidationOrAccuracy(t *testing.T) {
	h := overfitting(6)
	for i := range h.Epochs {
		h.Epochs[i].HasValidation = false
	}
	var buf bytes.Buffer
	require.NoError(t, plot.WritePNG(&buf, h, plot.Options{Width: 800, Height: 300}))
	img := decode(t, buf.Bytes())
	assert.Equal(t, image.Rect(0, 0, 800, 300), img.Bounds())
	assert.Greater(t, count(img, plot.TrainColor), 300)
	assert.Zero(t, count(img, plot.ValColor), "no validation, no orange")

	// A regression history: one panel (loss), a single epoch, a NaN left out.
	reg := &train.History{Loss: "mse", Epochs: []train.EpochStats{{Epoch: 1, Loss: 0.5, HasValidation: true, ValLoss: math.NaN()}}}
	buf.Reset()
	require.NoError(t, plot.WritePNG(&buf, reg, plot.Options{}))
	img = decode(t, buf.Bytes())
	assert.Greater(t, count(img, plot.TrainColor), 20, "a single epoch is a dot")
	assert.Zero(t, count(img, plot.ValColor))
}

func TestSavePNGAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "h.png")
	require.NoError(t, plot.SavePNG(path, overfitting(4), plot.Options{}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 1200, 480), decode(t, b).Bounds())

	assert.ErrorContains(t, plot.WritePNG(&bytes.Buffer{}, &train.History{}, plot.Options{}), "plot: the history has no epochs")
	assert.ErrorContains(t, plot.WritePNG(&bytes.Buffer{}, overfitting(3), plot.Options{Width: 50, Height: 40}), "image size 50x40 pixels is outside")
	// A failed save leaves nothing behind.
	assert.Error(t, plot.SavePNG(filepath.Join(dir, "e.png"), &train.History{}, plot.Options{}))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}

// A step-based run's history is drawn against its steps: intervals ending at steps
// 250 to 2000 make curves as wide as an epoch history's.
func TestWritePNGByStep(t *testing.T) {
	h := overfitting(8)
	h.ByStep = true
	for i := range h.Epochs {
		h.Epochs[i].Step = 250 * (i + 1)
	}
	var buf bytes.Buffer
	require.NoError(t, plot.WritePNG(&buf, h, plot.Options{}))
	if dir := os.Getenv("PLOT_TEST_OUT"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "bystep.png"), buf.Bytes(), 0o644))
	}
	img := decode(t, buf.Bytes())
	assert.Greater(t, count(img, plot.TrainColor), 600)
	assert.Greater(t, count(img, plot.ValColor), 400)
}

// Our plots carry a "Software: gputrain" text chunk (a valid PNG still: the decoder
// checks every chunk's CRC), by which IsPlot tells them from other images.
func TestIsPlot(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "h.png")
	require.NoError(t, plot.SavePNG(ours, overfitting(3), plot.Options{}))
	b, err := os.ReadFile(ours)
	require.NoError(t, err)
	decode(t, b)
	assert.Contains(t, string(b[:80]), "tEXtSoftware\x00gputrain")
	assert.True(t, plot.IsPlot(ours))

	other := filepath.Join(dir, "photo.png")
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4))))
	require.NoError(t, os.WriteFile(other, buf.Bytes(), 0o644))
	assert.False(t, plot.IsPlot(other))
	require.NoError(t, os.WriteFile(other, b[:40], 0o644))
	assert.False(t, plot.IsPlot(other), "cut short")
	assert.False(t, plot.IsPlot(filepath.Join(dir, "missing.png")))
}
