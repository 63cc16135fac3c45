package main

// Data-parallel training on the command line: -dist (docs/distributed.md).
//
// Every rank runs the same gputrain command; the launcher (mpirun, srun, the MPI
// Operator) says which rank each process is. -dist auto, the default, trains alone
// without a launcher and joins the job under one: MPI on the cpu device, NCCL on cuda
// (each rank on GPU LocalRank modulo the GPUs it sees). -batch is the batch of one rank:
// N ranks with -batch b train one process's run with -batch N·b (train.Trainer.Comm).
//
// Rank 0 alone prints, and writes checkpoints, the history, the plot and TensorBoard's
// logs; the other ranks say nothing unless they fail. Before the first step the ranks
// check that they were given the same flags (those that define the run, -epochs and
// -device), the same -resume checkpoint, and, through the Trainer, the same model and
// data; a rank that could not set up (its data, its device) tells the others. Any of
// these stops every rank with one line and exit status 2. A failure of one rank during
// training (its device, the loss of another rank) ends the whole job through the
// launcher (MPI_Abort); failures that every rank sees alike (a non-finite loss, an
// interruption) end each rank by itself.

import (
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/train"
)

// distOptions are -dist and the job it opened.
type distOptions struct {
	kind string
	c    comm.Comm // set once train1 has opened it
	said bool      // train1 printed its error (before closing the job)
}

func (d *distOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&d.kind, "dist", "auto", "data-parallel training: auto (alone without a launcher; under mpirun or srun MPI on the cpu device, NCCL on cuda, one GPU per rank), none, mpi or nccl; -batch is per rank")
}

func (d *distOptions) check() error {
	switch d.kind {
	case "auto", "none", "mpi", "nccl":
		return nil
	}
	return usageError{fmt.Sprintf("-dist %q: want auto, none, mpi or nccl", d.kind)}
}

// rank is this process's rank (0 before the job is open, and alone).
func (d *distOptions) rank() int {
	if d.c == nil {
		return 0
	}
	return d.c.Rank()
}

// joined reports whether -dist opened a job (any kind but local, even of one rank: one
// GPU's NCCL runs the data-parallel step).
func (d *distOptions) joined() bool { return d.c != nil && d.c.Kind() != "local" }

// ranks is the job's number of ranks (1 alone).
func (d *distOptions) ranks() int {
	if d.c == nil {
		return 1
	}
	return d.c.Size()
}

// launchRank is the rank the launcher gave this process, known before the job is open
// (comm.Detect): what the checks of output paths, which only rank 0 writes, look at.
func launchRank() int { return comm.Detect().Rank }

// openJob opens -dist's communicator on dev.
func (d *distOptions) openJob(dev device.Backend) error {
	kind := d.kind
	if kind == "none" {
		kind = "local"
	}
	c, err := comm.Open(kind, dev)
	if err != nil {
		return err
	}
	d.c = c
	return nil
}

// agreedFlags are the flags every rank must give alike, beyond runFlags.
var agreedFlags = []string{"epochs", "device"}

// agreeFlags checks, across the ranks, the flags that define the run and the -resume
// checkpoint's content: the first difference is an error (exit status 2) on every rank,
// `comm: ranks disagree on -batch: rank 0 has "16", rank 1 has "32"`.
func agreeFlags(o *options, fs *flag.FlagSet) error {
	var whats, values []string
	for _, name := range append(append([]string(nil), runFlags...), agreedFlags...) {
		if f := fs.Lookup(name); f != nil {
			whats = append(whats, "-"+name)
			values = append(values, squash(f.Value.String()))
		}
	}
	ck := "none"
	if c := o.ckpt.ck; c != nil {
		b, err := os.ReadFile(c.Path)
		if err != nil {
			return setup(fmt.Errorf("-resume: %w", err))
		}
		ck = fmt.Sprintf("epoch %d batch %d step %d, %d bytes, crc32c:%08x", c.Progress.Epoch, c.Progress.Batch,
			c.Progress.OptimizerSteps, len(b), crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	}
	whats, values = append(whats, "the -resume checkpoint"), append(values, ck)
	if err := comm.AgreeAll(o.dist.c, whats, values); err != nil {
		return setup(err)
	}
	return nil
}

// agreeSetup tells every rank whether each set up without an error (its device, data,
// model, checkpoint), so that a rank that could not does not leave the others waiting
// in the first collective: mine is this rank's error or nil. Every rank then returns an
// error (exit status 2) when any failed: the failed rank its own, the others one naming
// the first rank that failed and why.
func agreeSetup(c comm.Comm, mine error) error {
	msg := ""
	if mine != nil {
		if msg = oneLine(mine); msg == "" {
			msg = "failed"
		}
	}
	all, err := c.AllGather([]byte(msg))
	switch {
	case err != nil && mine != nil:
		return mine
	case err != nil:
		return setup(err)
	case mine != nil:
		return shared{setup(mine)}
	}
	for r, m := range all {
		if len(m) > 0 {
			return shared{setup(fmt.Errorf("rank %d of %d could not start: %s", r, c.Size(), m))}
		}
	}
	return nil
}

// shared marks an error that agreeSetup has given every rank.
type shared struct{ err error }

func (e shared) Error() string   { return e.err.Error() }
func (e shared) Unwrap() []error { return []error{e.err, errShared} }

var errShared = errors.New("every rank has it")

// collective reports whether err is one every rank of the job returns alike, so that
// each can end by itself (MPI_Finalize waits for every rank): a disagreement, a setup
// failure shared by agreeSetup, a non-finite loss, an interruption. Any other error is
// this rank's alone, and ends the job through the launcher (Comm.Abort).
func collective(err error) bool {
	return errors.Is(err, comm.ErrDisagree) || errors.Is(err, train.ErrRanksDisagree) || errors.Is(err, errShared) ||
		errors.Is(err, train.ErrNotFinite) || errors.Is(err, train.ErrInterrupted)
}

// describeJob is the line rank 0 prints about the job, after the device's.
func describeJob(o *options) string {
	c := o.dist.c
	ranks := "ranks"
	if c.Size() == 1 {
		ranks = "rank"
	}
	return fmt.Sprintf("dist %s; global batch %d = %d %s × %d", c.Describe(), c.Size()*o.batch, c.Size(), ranks, o.batch)
}
