package main

// Checkpoints on the command line: -save, -resume, SIGINT and non-finite losses.
//
// -save FILE writes a checkpoint (train/checkpoint: safetensors, atomic) at the end of
// every epoch and once more when training ends.
//
// -resume FILE continues the run saved in FILE. The settings that define the run
// (runFlags) are taken from the checkpoint: a resumed run keeps them, and giving one of
// them with another value is an error that names the flag and both values, because the
// run would no longer be the one that was saved (and would not match an uninterrupted
// run bit for bit). The settings in restoredFlags (-epochs, -data) are taken from the
// checkpoint unless given, so that `gputrain -resume FILE` alone goes on to the saved
// run's last epoch, and `-epochs N` extends it. Flags about where and how to run
// (-device, -threads, -json, -save) are the command line's.
//
// The first SIGINT (Ctrl-C) during training lets the step in progress finish, saves a
// checkpoint to -save's FILE, or to gputrain-interrupted.safetensors in the current
// directory without -save, prints the command that resumes it and exits with status
// 130. A second SIGINT exits at once with status 130; the atomic write leaves any
// earlier checkpoint whole.
//
// A loss that becomes NaN or infinite stops training with the epoch and steps named;
// nothing is saved then, so -save's FILE keeps the last good checkpoint (the end of
// the last complete epoch), and the message says which.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
)

// runFlags define a run: a resumed run must use the checkpoint's values.
var runFlags = []string{"model", "dataset", "augment", "batch", "lr", "l2", "optimizer", "hidden", "val-split", "seed", "limit",
	"lr-schedule", "warmup", "clip-norm", "accum-steps", "decay", "freeze", "context", "eval-every"}

// restoredFlags are taken from the checkpoint when not given.
var restoredFlags = []string{"epochs", "data", "steps"}

// defaultInterruptPath is where SIGINT saves without -save.
const defaultInterruptPath = "gputrain-interrupted.safetensors"

// exitInterrupted is the exit status after SIGINT (128 + SIGINT, as a shell reports it).
const exitInterrupted = 130

// exit ends the process on a second SIGINT; tests replace it.
var exit = os.Exit

// interruptRequested is set when the first SIGINT has been handled.
var interruptRequested atomic.Bool

// testCallbacks are added to Fit's callbacks by tests.
var testCallbacks []train.Callback

// ckptOptions are the checkpoint flags and what -resume read.
type ckptOptions struct {
	save, resume string
	ck           *checkpoint.Checkpoint
	// settings are the values of runFlags and restoredFlags, saved in checkpoints.
	settings map[string]string
	// carried are the other flags given ("-device", "cpu"), repeated in the resume hint.
	carried []string
	stderr  io.Writer
}

// exitError ends the program with a status of its own, after its message.
type exitError struct {
	code  int
	msg   string
	cause error // what it reports (ErrInterrupted), for errors.Is
}

func (e exitError) Error() string { return e.msg }
func (e exitError) Unwrap() error { return e.cause }

func addCheckpointFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.ckpt.save, "save", "", "write a checkpoint (safetensors) to this file after every epoch and at the end")
	fs.StringVar(&o.ckpt.resume, "resume", "", "continue the run saved in this checkpoint, with its settings")
}

// applyResume reads -resume's checkpoint and sets the run's flags from it (see the
// file comment), then records the settings to save in checkpoints. It runs after the
// flags are parsed and before their values are checked.
func applyResume(fs *flag.FlagSet, o *options) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	c := &o.ckpt
	if c.resume != "" {
		ck, err := checkpoint.Open(c.resume)
		if err != nil {
			return usageError{"-resume: " + err.Error()}
		}
		stored := ck.Settings.Flags
		if stored == nil {
			return usageError{fmt.Sprintf("-resume: %s was not saved by gputrain (it has no command-line settings)", c.resume)}
		}
		var conflicts []string
		for _, name := range runFlags {
			v, ok := stored[name]
			if !ok {
				continue
			}
			if given[name] {
				if have := fs.Lookup(name).Value.String(); squash(have) != squash(v) {
					conflicts = append(conflicts, fmt.Sprintf("-%s %s differs from the checkpoint's %s", name, have, v))
				}
				continue
			}
			if err := fs.Set(name, v); err != nil {
				return usageError{fmt.Sprintf("-resume: %s: bad stored -%s %q: %v", c.resume, name, v, err)}
			}
		}
		if len(conflicts) > 0 {
			return usageError{fmt.Sprintf("-resume %s: %s: a resumed run keeps the settings it was saved with (drop the flag, or start afresh without -resume)",
				c.resume, strings.Join(conflicts, "; "))}
		}
		for _, name := range restoredFlags {
			if v, ok := stored[name]; ok && !given[name] {
				if err := fs.Set(name, v); err != nil {
					return usageError{fmt.Sprintf("-resume: %s: bad stored -%s %q: %v", c.resume, name, v, err)}
				}
			}
		}
		if p := ck.Progress; o.epochs < p.Epoch && !isText(o) {
			return usageError{fmt.Sprintf("-resume: %s stopped at epoch %d after %d batches; -epochs %d trains nothing more (give -epochs %d or more)",
				c.resume, p.Epoch, p.Batch, o.epochs, p.Epoch)}
		}
		c.ck = ck
	}
	recordSettings(fs, o)
	c.carried = nil
	fs.Visit(func(f *flag.Flag) {
		if !slices.Contains(runFlags, f.Name) && !slices.Contains(restoredFlags, f.Name) && f.Name != "resume" {
			c.carried = append(c.carried, "-"+f.Name, f.Value.String())
		}
	})
	return nil
}

// recordSettings records the values of runFlags and restoredFlags, to save in
// checkpoints.
func recordSettings(fs *flag.FlagSet, o *options) {
	c := &o.ckpt
	c.settings = map[string]string{}
	for _, name := range append(append([]string(nil), runFlags...), restoredFlags...) {
		if f := fs.Lookup(name); f != nil {
			c.settings[name] = f.Value.String()
		}
	}
}

// squash drops white space, which no run flag's value depends on ("128, 64").
func squash(s string) string { return strings.Join(strings.Fields(s), "") }

// restoreCheckpoint loads -resume's checkpoint into tr, before Fit. The model is built
// for the data's examples of shape in first, so that the file's stored shape is only
// compared, never trusted for allocations.
func restoreCheckpoint(o *options, tr *train.Trainer, in []int, stdout io.Writer) error {
	ck := o.ckpt.ck
	if ck == nil {
		return nil
	}
	if err := tr.Build(in); err != nil {
		return err
	}
	if err := ck.Restore(tr); err != nil {
		return err
	}
	p := ck.Progress
	fmt.Fprintf(stdout, "resumed from %s: epoch %d, batch %d, step %d\n", ck.Path, p.Epoch, p.Batch, p.OptimizerSteps)
	return nil
}

// saver writes -save's checkpoint at the end of every epoch.
type saver struct {
	train.NopCallback
	o     *options
	tr    *train.Trainer
	set   checkpoint.Settings
	epoch int // the last epoch saved, 0 for none
	step  int // and its last step, in a step-based run
}

func (s *saver) OnTrainBegin(tr *train.Trainer) error { s.tr = tr; return nil }

func (s *saver) OnEpochEnd(e train.EpochStats) error {
	if err := checkpoint.Save(s.o.ckpt.save, s.tr, s.set); err != nil {
		return err
	}
	s.epoch, s.step = e.Epoch, e.Step
	return nil
}

// fit runs tr.Fit with -save's checkpoints, SIGINT handling and the messages for an
// interruption or a non-finite loss.
func fit(o *options, tr *train.Trainer, dataset string, d train.Dataset, cfg train.Config, stdout io.Writer) (*train.History, error) {
	return fitWith(o, tr, checkpoint.Settings{Dataset: dataset}, cfg.Callbacks, stdout,
		func(callbacks []train.Callback, ctx context.Context) (*train.History, error) {
			cfg.Callbacks, cfg.Context = callbacks, ctx
			return tr.Fit(d, cfg)
		})
}

// fitSteps is fit for a step-based run on text (text.go): its checkpoints hold the
// vocabulary.
func fitSteps(o *options, tr *train.Trainer, text *data.Text, cfg train.StepConfig, stdout io.Writer) (*train.History, error) {
	return fitWith(o, tr, checkpoint.Settings{Dataset: o.dataset, Vocab: text.Vocab.Bytes}, cfg.Callbacks, stdout,
		func(callbacks []train.Callback, ctx context.Context) (*train.History, error) {
			cfg.Callbacks, cfg.Context = callbacks, ctx
			return tr.FitSteps(text.Stream(o.seed), cfg)
		})
}

// fitWith runs run (Fit or FitSteps with the callbacks and context it is given) with
// -save's checkpoints of settings set, SIGINT handling and the messages for an
// interruption or a non-finite loss.
func fitWith(o *options, tr *train.Trainer, set checkpoint.Settings, callbacks []train.Callback, stdout io.Writer,
	run func([]train.Callback, context.Context) (*train.History, error)) (*train.History, error) {
	model := o.model
	if model == "mlp" {
		model += " " + o.ckpt.settings["hidden"]
	}
	set.Model, set.Flags = model, o.ckpt.settings
	sv := &saver{o: o, set: set}
	rank0 := o.dist.rank() == 0 // rank 0 of a data-parallel job alone saves
	if o.ckpt.save != "" && rank0 {
		callbacks = append(callbacks, sv)
	}
	callbacks = append(callbacks, testCallbacks...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	stderr := o.ckpt.stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		// stderr, not stdout: the training prints to stdout meanwhile. run's own line
		// comes after Fit has seen the cancellation, so after this one.
		if rank0 {
			fmt.Fprintln(stderr, "gputrain: interrupt: finishing the current step and saving a checkpoint (interrupt again to abort at once)")
		}
		interruptRequested.Store(true)
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "gputrain: second interrupt: aborting without saving")
			exit(exitInterrupted)
		case <-done:
		}
	}()

	hist, err := run(callbacks, ctx)
	switch {
	case errors.Is(err, train.ErrInterrupted) && !rank0:
		return hist, exitError{code: exitInterrupted, cause: err} // rank 0 saves and says so
	case errors.Is(err, train.ErrInterrupted):
		path := o.ckpt.save
		if path == "" {
			path = defaultInterruptPath
		}
		if serr := checkpoint.Save(path, tr, set); serr != nil {
			return hist, exitError{exitInterrupted, fmt.Sprintf("%v; could not save a checkpoint: %v", err, serr), err}
		}
		p := tr.Progress()
		if isText(o) {
			return hist, exitError{exitInterrupted, fmt.Sprintf("interrupted after step %d; checkpoint saved to %s; resume with: %s",
				p.OptimizerSteps, path, resumeCommand(o, path)), err}
		}
		return hist, exitError{exitInterrupted, fmt.Sprintf("interrupted at epoch %d after %d batches (step %d); checkpoint saved to %s; resume with: %s",
			p.Epoch, p.Batch, p.OptimizerSteps, path, resumeCommand(o, path)), err}
	case errors.Is(err, train.ErrNotFinite):
		switch {
		case o.ckpt.save == "":
			return hist, err
		case sv.epoch > 0 && isText(o):
			return hist, fmt.Errorf("%w; the last good checkpoint, %s (step %d), was kept", err, o.ckpt.save, sv.step)
		case sv.epoch > 0:
			return hist, fmt.Errorf("%w; the last good checkpoint, %s (end of epoch %d), was kept", err, o.ckpt.save, sv.epoch)
		case o.ckpt.ck != nil && o.ckpt.ck.Path == o.ckpt.save:
			return hist, fmt.Errorf("%w; %s, the checkpoint this run resumed from, was kept", err, o.ckpt.save)
		default:
			return hist, fmt.Errorf("%w; no epoch completed, so no checkpoint was saved", err)
		}
	case err != nil:
		return hist, err
	}
	if o.ckpt.save != "" && rank0 {
		if err := checkpoint.Save(o.ckpt.save, tr, set); err != nil {
			return hist, err
		}
		fmt.Fprintf(stdout, "checkpoint saved to %s\n", o.ckpt.save)
	}
	return hist, nil
}

// resumeCommand is the command line that continues from path.
func resumeCommand(o *options, path string) string {
	args := []string{"gputrain", "-resume", path}
	if n := o.dist.ranks(); n > 1 { // the same number of ranks (see dist.go)
		switch comm.Detect().Launcher {
		case "srun":
			args = append([]string{"srun", "--mpi=pmix", "-n", strconv.Itoa(n)}, args...)
		default:
			args = append([]string{"mpirun", "-np", strconv.Itoa(n)}, args...)
		}
	}
	args = append(args, o.ckpt.carried...)
	if o.ckpt.save == "" {
		args = append(args, "-save", path)
	}
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,=:+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lockedWriter serialises writes: stderr is written by the SIGINT handler as well.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
