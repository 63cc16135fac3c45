// Package progbar draws a progress bar within each training epoch on a terminal, as
// Keras' Progbar does: a train.Callback showing the batch out of the epoch's batches,
// the epoch's running loss and accuracy, examples per second and the time left.
//
//	epoch 3/10  loss 0.1234  acc 0.9612  48210 samples/s  45% [=============>.................] (765/1688) [0s:1s]
//
// It draws only on a terminal (golang.org/x/term.IsTerminal on the writer's file
// descriptor) unless forced, so logs, pipes and CI output stay clean; the bar clears
// itself at the end of the epoch, leaving the line to the caller's epoch summary.
// The drawing is github.com/schollz/progressbar's. It lives apart from package train
// so that train does not depend on terminal libraries.
package progbar

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/gputrain/gputrain/train"
)

// Options configure a Bar.
type Options struct {
	// Epochs is the run's epoch count, shown as "epoch 3/10" ("epoch 3" when 0).
	Epochs int
	// Force draws even when the writer is not a terminal.
	Force bool
	// Width is the bar's width in characters (30 when 0); it shrinks to fit the
	// terminal.
	Width int
	// Throttle is the least time between two redraws (100ms when 0).
	Throttle time.Duration
}

// Bar is a train.Callback that draws one progress bar per epoch on w. Use it from one
// goroutine (Fit's).
type Bar struct {
	w       io.Writer
	opt     Options
	enabled bool

	classifies bool
	epoch      int
	bar        *progressbar.ProgressBar
	start      time.Time        // when the epoch's first step began
	seen0      int              // examples of the epoch trained before this Fit's first step (a resume)
	known      train.BatchStats // the last batch with a running loss
}

// IsTerminal reports whether w is a terminal (an *os.File, or anything with a file
// descriptor, on a TTY).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns a Bar drawing on w: enabled when w is a terminal or o.Force is set.
func New(w io.Writer, o Options) *Bar {
	if o.Width <= 0 {
		o.Width = 30
	}
	if o.Throttle <= 0 {
		o.Throttle = 100 * time.Millisecond
	}
	return &Bar{w: w, opt: o, enabled: o.Force || IsTerminal(w)}
}

// Enabled reports whether the bar draws anything.
func (b *Bar) Enabled() bool { return b.enabled }

// OnTrainBegin implements train.Callback.
func (b *Bar) OnTrainBegin(t *train.Trainer) error {
	b.classifies = t.Loss != nil && t.Loss.Classifies()
	return nil
}

// OnEpochBegin implements train.Callback.
func (b *Bar) OnEpochBegin(epoch int) error {
	b.clear()
	b.epoch = epoch
	return nil
}

// OnBatchBegin implements train.Callback: the epoch's first step (after a resume, not
// necessarily its first batch) makes the bar.
func (b *Bar) OnBatchBegin(s train.BatchStats) error {
	if !b.enabled || b.bar != nil {
		return nil
	}
	b.start, b.seen0 = time.Now(), s.Seen
	b.known = train.BatchStats{}
	b.bar = progressbar.NewOptions(s.Batches,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetWidth(b.opt.Width),
		progressbar.OptionThrottle(b.opt.Throttle),
		progressbar.OptionSetTheme(progressbar.ThemeASCII),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription(b.status(s, 0)),
	)
	if s.Batch > 1 {
		// A resumed epoch: the batches before were trained by another run (the time
		// left is then underestimated for this epoch).
		if err := b.bar.Set(s.Batch - 1); err != nil {
			return fmt.Errorf("progbar: %w", err)
		}
	}
	return nil
}

// OnBatchEnd implements train.Callback: it advances the bar and, when the running loss
// was read (s.Known), shows it.
func (b *Bar) OnBatchEnd(s train.BatchStats) error {
	if b.bar == nil {
		return nil
	}
	if s.Known {
		b.known = s
	}
	b.bar.Describe(b.status(s, time.Since(b.start)))
	if err := b.bar.Add(1); err != nil {
		return fmt.Errorf("progbar: %w", err)
	}
	return nil
}

// OnEpochEnd implements train.Callback: the bar is gone by now (it clears itself at the
// epoch's last batch).
func (b *Bar) OnEpochEnd(train.EpochStats) error {
	b.clear()
	return nil
}

// OnTrainEnd implements train.Callback: it clears a bar left by an epoch that did not
// finish (stopped or failed), so the caller's message starts on a clean line.
func (b *Bar) OnTrainEnd(*train.History, error) { b.clear() }

func (b *Bar) clear() {
	if b.bar != nil {
		if !b.bar.IsFinished() {
			b.bar.Clear()
		}
		b.bar.Exit()
		b.bar = nil
	}
}

// status is the text before the bar: the epoch, the last running loss and accuracy
// read (a dash before the first read) and the examples per second since the epoch's
// first step (elapsed).
func (b *Bar) status(s train.BatchStats, elapsed time.Duration) string {
	var sb strings.Builder
	if b.opt.Epochs > 0 {
		fmt.Fprintf(&sb, "epoch %d/%d", b.epoch, b.opt.Epochs)
	} else {
		fmt.Fprintf(&sb, "epoch %d", b.epoch)
	}
	if b.known.Known {
		fmt.Fprintf(&sb, "  loss %.4f", b.known.Loss)
		if b.classifies {
			fmt.Fprintf(&sb, "  acc %.4f", b.known.Accuracy)
		}
	} else {
		sb.WriteString("  loss -     ")
		if b.classifies {
			sb.WriteString("  acc -     ")
		}
	}
	if sec := elapsed.Seconds(); sec > 0 && s.Seen > b.seen0 {
		fmt.Fprintf(&sb, "  %5.0f samples/s", float64(s.Seen-b.seen0)/sec)
	}
	sb.WriteString("  ")
	return sb.String()
}
