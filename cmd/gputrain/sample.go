package main

// gputrain sample: text generation from a text model's checkpoint.
//
//	gputrain sample -resume FILE [-prompt "ROMEO:"] [-n 500] [-temperature 0.8] [-top-k 200]
//	                [-seed 1] [-device auto] [-threads 0]
//
// It rebuilds the model from the checkpoint alone (its description, weights and
// vocabulary), encodes the prompt with the checkpoint's vocabulary, and writes the
// prompt followed by -n generated characters to stdout. Each character is drawn from
// the model's distribution of the next one given the last context characters (the
// model's window): the logits divided by -temperature, all but the -top-k largest left
// out, softmax, and a draw from a generator seeded by -seed (temperature 0 takes the
// most likely character). A prompt shorter than the window fills its start; the causal
// mask makes what follows it irrelevant.

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
)

// runSample is the sample subcommand; it returns the exit status.
func runSample(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gputrain sample", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	resume := fs.String("resume", "", "the checkpoint of a text model to generate with (required)")
	prompt := fs.String("prompt", "\n", "the text to continue")
	n := fs.Int("n", 500, "characters to generate")
	temperature := fs.Float64("temperature", 0.8, "divides the logits: below 1 more predictable, above 1 more random; 0 takes the most likely character")
	topK := fs.Int("top-k", 200, "draw from the `K` most likely characters only (0: all)")
	seed := fs.Uint64("seed", 1, "random seed of the draws")
	devName := fs.String("device", "auto", "device: auto, cpu or cuda")
	threads := fs.Int("threads", 0, "CPU threads for the cpu device (0: all cores)")
	usage := func(err error) int {
		fmt.Fprintf(stderr, "gputrain sample: %v\n", oneLine(err))
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: gputrain sample -resume FILE [flags]")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		return usage(err)
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0)))
	case *resume == "":
		return usage(errors.New("-resume FILE is required: the checkpoint of a text model (gputrain -dataset text:FILE -save FILE)"))
	case *n < 0:
		return usage(fmt.Errorf("-n must not be negative, got %d", *n))
	case !(*temperature >= 0) || math.IsInf(*temperature, 0):
		return usage(fmt.Errorf("-temperature must be a finite number not below 0, got %v", *temperature))
	case *topK < 0:
		return usage(fmt.Errorf("-top-k must not be negative, got %d", *topK))
	case *threads < 0:
		return usage(fmt.Errorf("-threads must not be negative, got %d", *threads))
	}
	ck, err := checkpoint.Open(*resume)
	if err != nil {
		return usage(err)
	}
	if len(ck.Settings.Vocab) == 0 {
		return usage(fmt.Errorf("%s is not a text model's checkpoint (it holds no vocabulary): sample continues text with a model trained by gputrain -dataset text:FILE", *resume))
	}
	vocab, err := data.NewVocab(ck.Settings.Vocab)
	if err != nil {
		return usage(fmt.Errorf("%s: %w", *resume, err))
	}
	ids := make([]int32, len(*prompt))
	if err := vocab.Encode([]byte(*prompt), ids); err != nil {
		return usage(fmt.Errorf("-prompt: %w (the model knows only the %d bytes of its training text)", err, vocab.Size()))
	}
	if len(ids) == 0 {
		return usage(errors.New("-prompt is empty: give the text to continue"))
	}
	dev, err := device.Open(*devName, device.Options{Threads: *threads})
	if err != nil {
		return usage(err)
	}
	defer dev.Close()
	m, err := ck.LoadModel(dev, 1)
	if err != nil {
		fmt.Fprintf(stderr, "gputrain sample: %v\n", oneLine(err))
		return 1
	}
	g, err := newGenerator(m, vocab.Size())
	if err != nil {
		return usage(fmt.Errorf("%s: %w", *resume, err))
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	w.WriteString(*prompt)
	rng := rand.New(rand.NewPCG(*seed, 0x73616d706c65))
	for range *n {
		next, err := g.next(ids, float32(*temperature), *topK, rng)
		if err != nil {
			fmt.Fprintf(stderr, "gputrain sample: %v\n", oneLine(err))
			return 1
		}
		ids = append(ids, next)
		w.WriteByte(vocab.Bytes[next])
		if vocab.Bytes[next] == '\n' {
			w.Flush()
		}
	}
	w.WriteByte('\n')
	return 0
}

// generator draws next tokens from a built text model: input (T) ids, output (T, V)
// logits.
type generator struct {
	m      *nn.Model
	t, v   int
	x      *tensor.Tensor
	window []int32
	logits []float32
	order  []int
	probs  []float64
}

func newGenerator(m *nn.Model, vocab int) (*generator, error) {
	in, out := m.InputShape(), m.OutputShape()
	if len(in) != 1 || len(out) != 2 || out[0] != in[0] || out[1] != vocab {
		return nil, fmt.Errorf("the model maps %v to %v: a text model maps a window of ids (T) to next-token logits (T, %d)", in, out, vocab)
	}
	x, err := tensor.New(m.Device(), device.Int32, 1, in[0])
	if err != nil {
		return nil, err
	}
	return &generator{m: m, t: in[0], v: vocab, x: x, window: make([]int32, in[0]), logits: make([]float32, in[0]*vocab),
		order: make([]int, vocab), probs: make([]float64, vocab)}, nil
}

// next returns a draw of the token after ids: the model reads the last T of them
// (fewer fill the window's start) and its logits at the last position are divided by
// temperature, cut to the topK largest (0: all) and turned into probabilities.
func (g *generator) next(ids []int32, temperature float32, topK int, rng *rand.Rand) (int32, error) {
	ctx := ids[max(0, len(ids)-g.t):]
	clear(g.window)
	copy(g.window, ctx)
	dev := g.m.Device()
	if err := dev.WriteInt32(g.x.Buffer(), g.window); err != nil {
		return 0, err
	}
	y, err := g.m.Forward(g.x, false)
	if err != nil {
		return 0, err
	}
	if err := dev.ReadFloat32(g.logits, y.Buffer()); err != nil {
		return 0, err
	}
	row := g.logits[(len(ctx)-1)*g.v : len(ctx)*g.v]
	return pick(row, temperature, topK, rng, g.order, g.probs), nil
}

// pick draws an index from softmax(row/temperature) restricted to the topK largest
// entries (ties at the cut kept, as torch.topk's threshold does in nanoGPT), or takes the
// first largest when temperature is 0. order and probs are scratch of len(row).
func pick(row []float32, temperature float32, topK int, rng *rand.Rand, order []int, probs []float64) int32 {
	best := 0
	for i, l := range row {
		if l > row[best] {
			best = i
		}
	}
	if temperature == 0 {
		return int32(best)
	}
	cut := math.Inf(-1)
	if topK > 0 && topK < len(row) {
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
		cut = float64(row[order[topK-1]]) / float64(temperature)
	}
	top := float64(row[best]) / float64(temperature)
	sum := 0.0
	for i, l := range row {
		z := float64(l) / float64(temperature)
		p := 0.0
		if z >= cut {
			p = math.Exp(z - top)
		}
		probs[i] = p
		sum += p
	}
	r := rng.Float64() * sum
	for i, p := range probs {
		if r < p {
			return int32(i)
		}
		r -= p
	}
	return int32(best)
}
