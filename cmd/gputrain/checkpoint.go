package main

// Checkpoints on the command line: -save, -resume, -save-every, signals, and losses
// that become non-finite or diverge.
//
// -save FILE writes a checkpoint (train/checkpoint: safetensors, atomic) at the end of
// every epoch and once more when training ends; -save-every N also every N optimizer
// steps. A run without -save says at its end that its model was not saved.
//
// -resume FILE continues the run saved in FILE. The settings that define the run
// (runFlags) are taken from the checkpoint: a resumed run keeps them, and giving one of
// them with another value is an error that names the flag and both values, because the
// run would no longer be the one that was saved (and would not match an uninterrupted
// run bit for bit). The settings in restoredFlags (-epochs, -data) are taken from the
// checkpoint unless given, so that `gputrain -resume FILE` alone goes on to the saved
// run's last epoch, and `-epochs N` extends it. Flags about where and how to run
// (-device, -threads, -json, -save) are the command line's. The checkpoint holds what
// the schedules and early stopping need (the optimizer's step count, the best epoch,
// its weights and the patience so far), so that the resumed run is the uninterrupted
// one, bit for bit.
//
// Signals during training. The first SIGINT (Ctrl-C) or SIGTERM (what Slurm,
// Kubernetes and preemptible clouds send before SIGKILL) lets the step in progress
// finish, saves a checkpoint to -save's FILE, or without -save to a new file
// gputrain-interrupted-DATE-TIME.safetensors in the current directory, prints the
// command that resumes it and exits with status 128 + the signal's number (130 for
// SIGINT, 143 for SIGTERM). A second one exits at once with that status, saving
// nothing; the atomic write leaves any earlier checkpoint whole. SIGUSR1 (a
// scheduler's warning before preemption) saves a checkpoint the same way after the
// step in progress and goes on training. Before training starts and after it ends, the
// signals do what they do by default. In a data-parallel job (-dist) rank 0 alone saves
// and speaks; SIGTERM there is the launcher's stop, which device/comm answers by
// ending the rank at once (143): the last checkpoint saved is the one to resume.
//
// A loss that becomes NaN or infinite, or grows by four orders of magnitude
// (train.ErrDiverged; -diverge X sets the factor, 0 turns it off), stops training with the epoch and steps named; nothing is saved
// then, so -save's FILE keeps the last good checkpoint (the end of the last complete
// epoch, or the last -save-every save), and the message says which.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
)

// runFlags define a run: a resumed run must use the checkpoint's values.
var runFlags = []string{"model", "dataset", "augment", "batch", "lr", "l2", "optimizer", "hidden", "val-split", "seed", "limit",
	"lr-schedule", "warmup", "clip-norm", "accum-steps", "decay", "freeze", "early-stop", "early-stop-monitor", "early-stop-min-delta",
	"context", "eval-every", "precision"}

// restoredFlags are taken from the checkpoint when not given.
var restoredFlags = []string{"epochs", "data", "steps"}

// interruptPattern names the checkpoint a signal saves without -save: a new file each
// run, so that a second interrupted run does not replace the first one's.
const interruptPattern = "gputrain-interrupted-%s.safetensors"

// ckptOptions are the checkpoint flags and what -resume read.
type ckptOptions struct {
	save, resume string
	saveEvery    int  // -save-every: optimizer steps between saves; 0: at epoch ends only
	overwrite    bool // -overwrite: replace files that are not ours
	ck           *checkpoint.Checkpoint
	// settings are the values of runFlags and restoredFlags, saved in checkpoints.
	settings map[string]string
	// carried are the other flags given ("-device", "cpu"), repeated in the resume hint.
	carried []string
	stderr  io.Writer
	// fallback is the file a signal saves to without -save, once chosen.
	fallback string
}

// check validates the checkpoint flags once parsed.
func (c *ckptOptions) check() error {
	if c.saveEvery > 0 && c.save == "" {
		return usageError{"-save-every needs -save FILE"}
	}
	return nil
}

// path is where checkpoints go: -save's FILE, or a new file of interruptPattern in the
// current directory (made, empty, so that no other run takes the name).
func (c *ckptOptions) path() (string, error) {
	if c.save != "" {
		return c.save, nil
	}
	if c.fallback != "" {
		return c.fallback, nil
	}
	stamp := time.Now().Format("20060102-150405")
	for i := 1; ; i++ {
		name := fmt.Sprintf(interruptPattern, stamp)
		if i > 1 {
			name = fmt.Sprintf(interruptPattern, fmt.Sprintf("%s-%d", stamp, i))
		}
		f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, os.ErrExist) && i < 1000 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("cannot make a checkpoint file in the current folder: %w", err)
		}
		f.Close()
		c.fallback = name
		return name, nil
	}
}

// dropFallback removes the file path made for a checkpoint that could not be saved,
// if it is still the empty placeholder: a failed save leaves nothing behind.
func (c *ckptOptions) dropFallback(path string) {
	if path == "" || path != c.fallback {
		return
	}
	if st, err := os.Stat(path); err == nil && st.Size() == 0 {
		os.Remove(path)
		c.fallback = ""
	}
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
	intFlag(fs, &o.ckpt.saveEvery, "save-every", 0, atLeast(1).orZero("at the end of every epoch only"), "with -save, also save every `N` optimizer steps")
	fs.BoolVar(&o.ckpt.overwrite, "overwrite", false, "replace files that gputrain did not write: -save, -plot and -history refuse an existing file that is not theirs without it")
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
			if v == fs.Lookup(name).DefValue {
				continue // the default ("0" for -lr: an explicit 0 is refused); applyTextDefaults counts it as given
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
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				c.carried = append(c.carried, "-"+f.Name+"="+f.Value.String()) // "-json true" would end the flags
			} else {
				c.carried = append(c.carried, "-"+f.Name, f.Value.String())
			}
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

// saver writes the run's checkpoints: -save's at the end of every epoch and every
// -save-every steps, and one wherever a SIGUSR1 asked for it.
type saver struct {
	train.NopCallback
	o     *options
	tr    *train.Trainer
	set   checkpoint.Settings
	accum int
	// requested is set by SIGUSR1: save after the next step that completes an
	// accumulation group (a checkpoint resumes exactly there).
	requested atomic.Bool
	epoch     int    // the last epoch saved at its end, 0 for none
	last      string // where the last good checkpoint is and what it holds, for messages
	stdout    io.Writer
}

func (s *saver) OnTrainBegin(tr *train.Trainer) error { s.tr = tr; return nil }

func (s *saver) OnBatchEnd(b train.BatchStats) error {
	if b.Batch%s.accum != 0 && b.Batch != b.Batches {
		return nil // mid-group: not a place a run resumes from
	}
	every := s.o.ckpt.saveEvery > 0 && b.Step%s.o.ckpt.saveEvery == 0
	asked := s.requested.Swap(false)
	if !every && !asked {
		return nil
	}
	path, err := s.o.ckpt.path()
	if err == nil {
		err = checkpoint.Save(path, s.tr, s.set)
	}
	if err != nil {
		s.o.ckpt.dropFallback(path)
		if asked { // a failed save on request does not end the run
			fmt.Fprintf(s.o.ckpt.stderr, "gputrain: SIGUSR1: %v\n", oneLine(err))
			return nil
		}
		return err
	}
	if path == s.o.ckpt.save {
		s.last = fmt.Sprintf("%s (epoch %d, batch %d, step %d)", path, b.Epoch, b.Batch, b.Step)
	}
	if asked {
		fmt.Fprintf(s.o.ckpt.stderr, "gputrain: SIGUSR1: checkpoint saved to %s at epoch %d, batch %d (step %d); training goes on; resume with: %s\n",
			path, b.Epoch, b.Batch, b.Step, resumeCommand(s.o, path))
	}
	return nil
}

func (s *saver) OnEpochEnd(e train.EpochStats) error {
	if s.o.ckpt.save == "" {
		return nil
	}
	if err := checkpoint.Save(s.o.ckpt.save, s.tr, s.set); err != nil {
		return err
	}
	s.epoch = e.Epoch
	s.last = fmt.Sprintf("%s (end of epoch %d)", s.o.ckpt.save, e.Epoch)
	if isText(s.o) {
		s.last = fmt.Sprintf("%s (step %d)", s.o.ckpt.save, e.Step)
	}
	return nil
}

// collectAtEpochEnd runs the garbage collector after each epoch (and its checkpoint):
// the step allocates nothing, so an epoch's garbage is its checkpoint's host copies,
// and collecting it at once (about a millisecond next to an epoch of seconds) keeps
// the process at its data, its model and one epoch's garbage, rather than letting the
// heap double before the collector runs. A long run's resident memory stays flat
// (BenchmarkSoak).
type collectAtEpochEnd struct{ train.NopCallback }

func (collectAtEpochEnd) OnEpochEnd(train.EpochStats) error {
	runtime.GC()
	return nil
}

// exitStatus is a shell's status for a process ended by sig: 128 + its number.
func exitStatus(sig os.Signal) int {
	if n, ok := sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

// signalName names sig as the messages do: "interrupt" (SIGINT), "SIGTERM".
func signalName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "interrupt"
	}
	if sig == saveSignal {
		return "SIGUSR1"
	}
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return sig.String()
}

// fit runs tr.Fit with the run's checkpoints, the signal handling and the messages
// for an interruption or a loss gone wrong.
func fit(o *options, tr *train.Trainer, dataset string, d train.Dataset, cfg train.Config, stdout io.Writer) (*train.History, error) {
	cfg.DivergenceFactor = divergence(o)
	return fitWith(o, tr, checkpoint.Settings{Dataset: dataset}, cfg.Callbacks, stdout,
		func(callbacks []train.Callback, ctx context.Context) (*train.History, error) {
			cfg.Callbacks, cfg.Context = callbacks, ctx
			return tr.Fit(d, cfg)
		})
}

// fitSteps is fit for a step-based run on text (text.go): its checkpoints hold the
// vocabulary.
func fitSteps(o *options, tr *train.Trainer, text *data.Text, cfg train.StepConfig, stdout io.Writer) (*train.History, error) {
	cfg.DivergenceFactor = divergence(o)
	return fitWith(o, tr, checkpoint.Settings{Dataset: o.dataset, Vocab: text.Vocab.Bytes}, cfg.Callbacks, stdout,
		func(callbacks []train.Callback, ctx context.Context) (*train.History, error) {
			cfg.Callbacks, cfg.Context = callbacks, ctx
			return tr.FitSteps(text.Stream(o.seed), cfg)
		})
}

// divergence is -diverge as the Trainer takes it: 0 (off) is a negative factor.
func divergence(o *options) float64 {
	if o.diverge == 0 {
		return -1
	}
	return o.diverge
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
	sv := &saver{o: o, set: set, accum: max(o.tune.accumSteps, 1), stdout: stdout}
	if o.ckpt.ck != nil && o.ckpt.ck.Path == o.ckpt.save {
		sv.last = fmt.Sprintf("%s (the checkpoint this run resumed from)", o.ckpt.save)
	}
	rank0 := o.dist.rank() == 0 // rank 0 of a data-parallel job alone saves
	if rank0 {
		callbacks = append(callbacks, sv)
	}
	p := o.proc
	if p == nil {
		p = &process{notify: func(chan<- os.Signal, []os.Signal) func() { return func() {} }, exit: os.Exit}
	}
	callbacks = append(callbacks, p.callbacks...)
	callbacks = append(callbacks, collectAtEpochEnd{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 4)
	handled := signalsHandled
	if o.dist.joined() {
		// In a job, SIGTERM is the launcher stopping it (a rank failed, or the job was
		// cancelled): device/comm's handler ends the rank at once, status 143, and a
		// rank here must not wait for ranks that may be gone. SIGINT and SIGUSR1 to
		// the ranks stop or save as above.
		handled = slices.DeleteFunc(slices.Clone(handled), func(s os.Signal) bool { return s == syscall.SIGTERM })
	}
	stop := p.notify(sigs, handled)
	defer stop()
	done := make(chan struct{})
	defer close(done)
	stderr := o.ckpt.stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	var stopSig atomic.Value // the first stop signal
	go func() {
		for {
			var sig os.Signal
			select {
			case sig = <-sigs:
			case <-done:
				return
			}
			switch {
			case sig == saveSignal && stopSig.Load() == nil:
				// stderr, not stdout: the training prints to stdout meanwhile.
				if rank0 {
					fmt.Fprintln(stderr, "gputrain: SIGUSR1: saving a checkpoint after the current step")
				}
				sv.requested.Store(true)
			case sig == saveSignal:
			case stopSig.Load() == nil:
				again := "signal"
				if sig == os.Interrupt {
					again = "interrupt"
				}
				if rank0 { // run's own line comes after Fit has seen the cancellation
					fmt.Fprintf(stderr, "gputrain: %s: finishing the current step and saving a checkpoint (%s again to abort at once)\n",
						signalName(sig), again)
				}
				stopSig.Store(sig)
				cancel()
			default:
				fmt.Fprintf(stderr, "gputrain: second %s: aborting without saving\n", signalName(sig))
				p.exit(exitStatus(stopSig.Load().(os.Signal)))
			}
			p.handled.Add(1)
		}
	}()

	hist, err := run(callbacks, ctx)
	switch {
	case errors.Is(err, train.ErrInterrupted) && !rank0:
		sig, _ := stopSig.Load().(os.Signal)                      // nil: another rank's
		return hist, exitError{code: exitStatus(sig), cause: err} // rank 0 saves and says so
	case errors.Is(err, train.ErrInterrupted):
		sig, _ := stopSig.Load().(os.Signal)
		code, what := exitStatus(sig), "interrupted"
		if sig != nil && sig != os.Interrupt {
			what = "stopped by " + signalName(sig)
		}
		path, serr := o.ckpt.path()
		if serr == nil {
			serr = checkpoint.Save(path, tr, set)
		}
		if serr != nil {
			o.ckpt.dropFallback(path)
			return hist, exitError{code, fmt.Sprintf("%v; could not save a checkpoint: %v", err, serr), err}
		}
		pr := tr.Progress()
		if isText(o) {
			return hist, exitError{code, fmt.Sprintf("%s after step %d; checkpoint saved to %s; resume with: %s",
				what, pr.OptimizerSteps, path, resumeCommand(o, path)), err}
		}
		return hist, exitError{code, fmt.Sprintf("%s at epoch %d after %d batches (step %d); checkpoint saved to %s; resume with: %s",
			what, pr.Epoch, pr.Batch, pr.OptimizerSteps, path, resumeCommand(o, path)), err}
	case errors.Is(err, train.ErrNotFinite) || errors.Is(err, train.ErrDiverged):
		switch {
		case sv.last != "":
			return hist, fmt.Errorf("%w; the last good checkpoint, %s, was kept", err, sv.last)
		case o.ckpt.save == "":
			return hist, fmt.Errorf("%w; nothing was saved (no -save)", err)
		default:
			return hist, fmt.Errorf("%w; no epoch completed, so no checkpoint was saved", err)
		}
	case err != nil:
		return hist, err
	}
	switch {
	case !rank0:
	case o.ckpt.save != "":
		if err := checkpoint.Save(o.ckpt.save, tr, set); err != nil {
			return hist, err
		}
		fmt.Fprintf(stdout, "checkpoint saved to %s\n", o.ckpt.save)
	default:
		fmt.Fprintln(stdout, "the trained model was not saved (give -save FILE to keep it)")
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
