package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
)

// smallText writes a short, repetitive text file that a tiny GPT learns quickly.
func smallText(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "poem.txt")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate.\n", 40)), 0o644))
	return path
}

// tinyGPT are the flags of a quick text run.
func tinyGPT(path string) []string {
	return []string{"-device", "cpu", "-threads", "2", "-dataset", "text:" + path, "-model", "gpt:layers=1,heads=2,dim=16,context=16",
		"-batch", "8", "-seed", "3"}
}

// A text run trains by steps, prints a line per evaluation, saves a checkpoint with
// the vocabulary, and reports val_loss, bits_per_char and step_ms; sample writes text
// from the checkpoint alone.
func TestTextRunAndSample(t *testing.T) {
	path := smallText(t)
	ck := filepath.Join(t.TempDir(), "gpt.safetensors")
	hist := filepath.Join(t.TempDir(), "hist.json")
	var out, errb bytes.Buffer
	args := append(tinyGPT(path), "-steps", "300", "-eval-every", "100", "-lr", "0.01", "-warmup", "20", "-save", ck, "-history", hist, "-json")
	require.Equal(t, 0, run(args, &out, &errb), errb.String())
	s := out.String()
	for _, want := range []string{"step 100/300  loss", "step 200/300", "step 300/300", "val_loss", "bits/char", "ms/step",
		"checkpoint saved to " + ck, "median step"} {
		assert.Contains(t, s, want)
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var r textReport
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r))
	assert.Equal(t, 300, r.Steps)
	assert.Equal(t, 16, r.Context)
	assert.InDelta(t, r.ValLoss/math.Ln2, r.BitsPerChar, 1e-12)
	assert.Positive(t, r.StepMS)
	assert.Less(t, r.ValLoss, 0.6, "a tiny GPT learns two repeated lines")
	assert.Len(t, r.History, 3)
	assert.Equal(t, "adamw", r.Optimizer, "the gpt preset's recipe")

	c, err := checkpoint.Open(ck)
	require.NoError(t, err)
	assert.Equal(t, "\n '.?ISTacdehlmnoprstuvy", string(c.Settings.Vocab), "the sorted distinct bytes")
	assert.Equal(t, "1", c.Settings.Flags["clip-norm"])
	assert.Equal(t, "cosine:0.0001", c.Settings.Flags["lr-schedule"])
	assert.Equal(t, "20", c.Settings.Flags["warmup"])
	f, err := os.Open(hist)
	require.NoError(t, err)
	defer f.Close()
	h, err := train.ReadHistoryJSON(f)
	require.NoError(t, err)
	assert.True(t, h.ByStep)

	out.Reset()
	errb.Reset()
	require.Equal(t, 0, run([]string{"sample", "-resume", ck, "-prompt", "Shall I", "-n", "60", "-temperature", "0", "-device", "cpu"}, &out, &errb), errb.String())
	text := out.String()
	assert.True(t, strings.HasPrefix(text, "Shall I"), text)
	assert.Len(t, text, len("Shall I")+60+1)
	assert.True(t, strings.HasPrefix(text, "Shall I compare thee"), "greedy decoding continues the memorised line: %q", text)
	// the same seed draws the same text; another seed another
	draw := func(seed string) string {
		var o, e bytes.Buffer
		require.Equal(t, 0, run([]string{"sample", "-resume", ck, "-n", "80", "-top-k", "5", "-seed", seed, "-device", "cpu"}, &o, &e), e.String())
		return o.String()
	}
	assert.Equal(t, draw("4"), draw("4"))
	assert.NotEqual(t, draw("4"), draw("5"))
}

// Text runs resume where they stopped: a run of 40 steps extended to 80 with -resume
// ends with the weights of an 80-step run (a constant learning rate, so that the
// schedule does not depend on -steps).
func TestTextRunResumes(t *testing.T) {
	path := smallText(t)
	dir := t.TempDir()
	base := append(tinyGPT(path), "-eval-every", "20", "-lr-schedule", "none", "-warmup", "0", "-model", "gpt:layers=1,heads=2,dim=16,context=16,dropout=0.1")
	whole, part := filepath.Join(dir, "whole.safetensors"), filepath.Join(dir, "part.safetensors")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run(append(base, "-steps", "80", "-save", whole), &out, &errb), errb.String())
	require.Equal(t, 0, run(append(base, "-steps", "40", "-save", part), &out, &errb), errb.String())
	out.Reset()
	require.Equal(t, 0, run([]string{"-resume", part, "-steps", "80", "-device", "cpu", "-threads", "1", "-save", part}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "resumed from "+part)
	assert.NotContains(t, out.String(), "step 40/80")
	assert.Contains(t, out.String(), "step 80/80")
	assert.Equal(t, modelTensors(t, whole), modelTensors(t, part), "extended run: the same weights and optimizer state, bit for bit")

	errb.Reset()
	assert.Equal(t, 2, run([]string{"-resume", part, "-steps", "60", "-device", "cpu"}, &out, &errb))
	assert.Contains(t, errb.String(), "has trained 80 steps; -steps 60 trains nothing more")
	errb.Reset()
	assert.Equal(t, 2, run([]string{"-resume", part, "-steps", "90", "-context", "8", "-device", "cpu"}, &out, &errb))
	assert.Contains(t, errb.String(), "-context 8 differs from the checkpoint's 0")
}

// A text run in bf16 says so, reports it, learns, saves its precision in the
// checkpoint and resumes in it (extending a finished cosine schedule: its peak is the
// run's -lr, not the rate the optimizer ended on); another precision on resume is
// refused.
func TestTextRunInBF16(t *testing.T) {
	path := smallText(t)
	ck := filepath.Join(t.TempDir(), "gpt.safetensors")
	var out, errb bytes.Buffer
	args := append(tinyGPT(path), "-steps", "60", "-eval-every", "30", "-lr", "0.01", "-warmup", "5", "-precision", "bf16", "-save", ck, "-json")
	require.Equal(t, 0, run(args, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "precision bf16")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r struct {
		Precision string            `json:"precision"`
		History   []json.RawMessage `json:"history"`
		ValLoss   float64           `json:"val_loss"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r))
	assert.Equal(t, "bf16", r.Precision)
	assert.Len(t, r.History, 2)
	assert.Less(t, r.ValLoss, 3.0, "below the uniform guess over the text's characters")

	out.Reset()
	require.Equal(t, 0, run([]string{"-resume", ck, "-steps", "90", "-device", "cpu", "-save", ck}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "precision bf16")
	assert.Contains(t, out.String(), "step 90/90")
	errb.Reset()
	assert.Equal(t, 2, run([]string{"-resume", ck, "-steps", "120", "-device", "cpu", "-precision", "fp16"}, &out, &errb))
	assert.Contains(t, errb.String(), "-precision fp16 differs from the checkpoint's bf16")
}

func TestTextRunErrors(t *testing.T) {
	dir := t.TempDir()
	path := smallText(t)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	empty, binary, short := write("empty.txt", nil), write("bin.txt", []byte("abc\x00def\x01"+strings.Repeat("x", 500))), write("short.txt", []byte("hello world"))
	ck := filepath.Join(dir, "m.safetensors")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run(append(tinyGPT(path), "-steps", "2", "-save", ck), &out, &errb), errb.String())
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-dataset", "text:" + path}, "text data trains by steps: give -steps N"},
		{[]string{"-dataset", "text:" + empty, "-steps", "5"}, "data: text: " + empty + ": empty file"},
		{[]string{"-dataset", "text:" + binary, "-steps", "5"}, "byte 3 is NUL: a binary file, not text"},
		{[]string{"-dataset", "text:" + short, "-steps", "5"}, "11 bytes, too short for windows of 64 characters"},
		{[]string{"-dataset", "text:" + filepath.Join(dir, "missing.txt"), "-steps", "5"}, "missing.txt: no such file"},
		{[]string{"-dataset", "text:" + path, "-steps", "5", "-epochs", "3"}, "-epochs does not apply to text data"},
		{[]string{"-dataset", "text:" + path, "-steps", "5", "-val-split", "0.2"}, "-val-split does not apply to text data"},
		{[]string{"-dataset", "text:" + path, "-steps", "5", "-model", "mlp"}, "-model must be gpt[:…], lstm[:…] or gru[:…], not mlp"},
		{[]string{"-dataset", "text:" + path, "-steps", "5", "-model", "gpt:layers=2,heads=3"}, "dim=128 is not a multiple of heads=3"},
		{[]string{"-dataset", "text:" + path, "-steps", "5", "-model", "gpt:depth=2"}, `unknown key "depth"`},
		{[]string{"-dataset", "text:" + path, "-steps", "5", "-model", "gpt:dropout=1"}, "dropout=1 is not in [0, 1)"},
		{[]string{"-dataset", "text:" + path, "-steps", "5", "-context", "100"}, "-context 100 is longer than the model's context=64"},
		{[]string{"-dataset", "text:" + path, "-steps", "50", "-warmup", "60"}, "-warmup counts steps with text data"},
		{[]string{"-steps", "5"}, "-steps applies to text data (-dataset text:FILE), not mnist"},
		{[]string{"-model", "gpt"}, "-model gpt is a text model: give -dataset text:FILE"},
		{[]string{"sample"}, "-resume FILE is required"},
		{[]string{"sample", "-resume", ck, "-prompt", "é"}, "is not in the vocabulary"},
		{[]string{"sample", "-resume", ck, "-temperature", "-1"}, "-temperature must be a finite number not below 0"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"-device", "cpu"}[:0:0], c.args...), &out, &errb)
			assert.Equal(t, 2, code)
			msg := errb.String()
			assert.Equal(t, 1, strings.Count(msg, "\n"), "one line on stderr: %q", msg)
			assert.Contains(t, msg, c.want)
		})
	}
}

// -model lstm (and gru) on text: an embedding, the recurrent layer and a Linear head
// per step learn the two lines, trained with Adam by the recurrent recipe; sample
// continues the memorised line from the checkpoint.
func TestRecurrentTextRunAndSample(t *testing.T) {
	path := smallText(t)
	for _, model := range []string{"lstm:hidden=32", "gru:hidden=32"} {
		t.Run(model, func(t *testing.T) {
			ck := filepath.Join(t.TempDir(), "rnn.safetensors")
			var out, errb bytes.Buffer
			args := []string{"-device", "cpu", "-threads", "2", "-dataset", "text:" + path, "-model", model, "-context", "16",
				"-batch", "8", "-seed", "3", "-steps", "300", "-eval-every", "0", "-lr", "0.01", "-save", ck, "-json"}
			require.Equal(t, 0, run(args, &out, &errb), errb.String())
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var r textReport
			require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r))
			assert.Equal(t, "adam", r.Optimizer, "the recurrent preset's recipe")
			assert.Equal(t, 16, r.Context)
			assert.Less(t, r.ValLoss, 0.6, "%s learns two repeated lines", model)

			out.Reset()
			errb.Reset()
			require.Equal(t, 0, run([]string{"sample", "-resume", ck, "-prompt", "Shall I", "-n", "40", "-temperature", "0", "-device", "cpu"}, &out, &errb), errb.String())
			assert.True(t, strings.HasPrefix(out.String(), "Shall I compare thee"), "greedy decoding continues the memorised line: %q", out.String())
		})
	}
}
