package train

// Data-parallel training: a Trainer with a Comm of N > 1 ranks (see Trainer.Comm).

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/nn"
)

// ErrRanksDisagree is wrapped by Fit's error when the ranks of a data-parallel job were
// given different models, data or settings (every rank returns the same error, before
// the first step).
var ErrRanksDisagree = errors.New("ranks disagree")

// rankSeedStride separates the Philox streams of the ranks: rank r builds its model with
// Seed + r·rankSeedStride, and module i of it draws with that plus i.
const rankSeedStride = 1 << 32

// ranks returns the job's size and this process's rank (1 and 0 without a Comm).
func (t *Trainer) ranks() (size, rank int) {
	if t.Comm == nil {
		return 1, 0
	}
	return t.Comm.Size(), t.Comm.Rank()
}

// dist reports whether the Trainer runs the data-parallel path: with a Comm of any
// kind but local, even a job of one rank (mpirun -np 1, one GPU's NCCL), whose results
// are those of one process (the sum over one rank is the identity).
func (t *Trainer) dist() bool { return t.Comm != nil && t.Comm.Kind() != "local" }

// buildSeed is the seed rank r builds its model with: Seed on rank 0 (so that a job of
// one rank is the single-process run, bit for bit), Seed + r·2³² on the others, whose
// initial weights rank 0's broadcast then replaces; what is left of the seed is each
// rank's own dropout and augmentation streams.
func (t *Trainer) buildSeed() uint64 {
	_, r := t.ranks()
	return t.Seed + uint64(r)*rankSeedStride
}

// checkComm validates the Trainer's Comm against its device.
func (t *Trainer) checkComm() error {
	if t.Comm == nil {
		return nil
	}
	if t.Comm.Device() != t.Dev {
		return fmt.Errorf("train: the Comm (%s) is bound to another device backend than the Trainer's Dev", t.Comm.Describe())
	}
	return nil
}

// checkSparse refuses a data-parallel Fit of a model with sparse embedding tables: each
// rank's row set holds the rows its own batches used, while the all-reduced gradient
// holds every rank's, so the rows another rank used would never be stepped or cleared.
// Every rank refuses before any collective.
func (t *Trainer) checkSparse() error {
	if !t.dist() {
		return nil
	}
	for _, p := range t.net.Params() {
		if p.Sparse() && p.Trainable() {
			return fmt.Errorf("train: data-parallel training of sparse embedding tables (%s) is not supported: the ranks' row sets are not merged; train on one rank, or build the embedding without sparse", p.Name)
		}
	}
	return nil
}

// agree checks, before the first step of a data-parallel Fit, that every rank trains the
// same model on the same data with the same settings: the collectives that follow would
// hang or silently mix different runs otherwise. The error, the same on every rank,
// wraps ErrRanksDisagree and names the first setting that differs.
func (t *Trainer) agree(d Dataset, cfg Config, checkEvery int, p Progress) error {
	spec, err := nn.SpecOf(t.net)
	model := "(no description)"
	if err == nil {
		model = fmt.Sprintf("%d tensors, description sha256:%x", len(t.net.Params()), sha256.Sum256(spec.JSON()))
	}
	val := "split " + strconv.FormatFloat(cfg.ValidationSplit, 'g', -1, 64)
	if cfg.Validation != nil {
		val = digest(*cfg.Validation)
	}
	lr := "(none)"
	if t.Optimizer != nil {
		lr = fmt.Sprintf("%s lr %g after %d steps", t.Optimizer.Name(), t.Optimizer.LearningRate(), t.Optimizer.Iterations())
	}
	settings := []struct{ what, value string }{
		{"the communicator", t.Comm.Kind()},
		{"the model", model},
		{"the loss", t.Loss.Name()},
		{"the optimizer", lr},
		{"the training data", digest(d)},
		{"the validation data", val},
		{"the batch size per rank", strconv.Itoa(t.batchSize())},
		{"the gradient accumulation steps", strconv.Itoa(t.accumSteps())},
		{"the seed", strconv.FormatUint(t.Seed, 10)},
		{"the epochs", strconv.Itoa(cfg.Epochs)},
		{"the shuffling", strconv.FormatBool(!cfg.NoShuffle)},
		{"the loss check interval", strconv.Itoa(checkEvery)},
		{"the gradient clipping norm", strconv.FormatFloat(float64(t.ClipNorm), 'g', -1, 32)},
		{"the starting position", fmt.Sprintf("epoch %d batch %d", p.Epoch, p.Batch)},
	}
	whats, values := make([]string, len(settings)), make([]string, len(settings))
	for i, s := range settings {
		whats[i], values[i] = s.what, s.value
	}
	if err := comm.AgreeAll(t.Comm, whats, values); err != nil {
		if errors.Is(err, comm.ErrDisagree) {
			return disagreement{err}
		}
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// disagreement is agree's error: comm's, wrapping ErrRanksDisagree too.
type disagreement struct{ err error }

func (e disagreement) Error() string   { return "train: " + e.err.Error() }
func (e disagreement) Unwrap() []error { return []error{e.err, ErrRanksDisagree} }

// digest describes a data set for agree: its examples, shapes, types and a CRC-32C of
// its contents.
func digest(d Dataset) string {
	part := func(x *gt.Dense) string {
		if x == nil {
			return "none"
		}
		if x.RequiresIterator() {
			if m, ok := x.Materialize().(*gt.Dense); ok {
				x = m
			}
		}
		return fmt.Sprintf("%v %v crc32c:%08x", x.Shape(), x.Dtype(), crc32.Checksum(x.Raw, castagnoli))
	}
	return fmt.Sprintf("%d examples, X %s, Y %s", d.Len(), part(d.X), part(d.Y))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// broadcastWeights gives every rank rank 0's parameters and state (running statistics),
// at the start of a data-parallel Fit.
func (t *Trainer) broadcastWeights() error {
	for _, p := range t.net.Params() {
		if err := t.Comm.Broadcast(p.Value.Buffer(), 0); err != nil {
			return fmt.Errorf("train: broadcasting %s from rank 0: %w", p.Name, err)
		}
	}
	return nil
}

// broadcastState gives every rank rank 0's state tensors (BatchNorm's running
// statistics, which each rank updates from its own examples), before an evaluation, so
// that the figures reported are those of rank 0's model: the one checkpoints save.
func (t *Trainer) broadcastState() error {
	for _, p := range t.net.Params() {
		if p.Grad != nil {
			continue
		}
		if err := t.Comm.Broadcast(p.Value.Buffer(), 0); err != nil {
			return fmt.Errorf("train: broadcasting %s from rank 0: %w", p.Name, err)
		}
	}
	return nil
}

// syncAndUpdate ends the optimizer step of a data-parallel job: the sum of the ranks'
// gradients (one all-reduce of the flat buffer; each rank's loss was scaled by
// 1/(the examples of the whole global group), so the sum is the global mean gradient),
// then clipping by the global norm and the update, as a step of its own ("update"):
// on the cuda backend the all-reduce sits between two recorded steps, so neither CUDA
// graph is broken.
func (t *Trainer) syncAndUpdate() error {
	if g := t.net.Grads(); g != nil {
		if err := t.Comm.AllReduceSum(g.Buffer()); err != nil {
			return err
		}
	}
	return t.Dev.Step("update", t.updateFn)
}

// readSums returns m's loss and correct sums over every rank: an all-reduce of a copy of
// them, with stop (1 when this rank was asked to stop) riding along, so that the ranks
// also agree on whether any was. Without several ranks it reads this rank's sums.
func (t *Trainer) readSums(m *metrics, stop bool) (loss, correct float64, stopAll bool, err error) {
	if !t.dist() {
		loss, correct, err = m.read(t.Dev)
		return loss, correct, stop, err
	}
	dev := t.Dev
	if err := dev.Copy(m.globalSums.Buffer(), m.sums.Buffer()); err != nil {
		return 0, 0, false, err
	}
	flag := float32(0)
	if stop {
		flag = 1
	}
	if err := dev.Fill(m.globalStop.Buffer(), flag); err != nil {
		return 0, 0, false, err
	}
	if err := t.Comm.AllReduceSum(m.global.Buffer()); err != nil {
		return 0, 0, false, err
	}
	if err := dev.ReadFloat32(m.host[:3], m.global.Buffer()); err != nil {
		return 0, 0, false, err
	}
	return float64(m.host[0]), float64(m.host[1]), m.host[2] > 0, nil
}
