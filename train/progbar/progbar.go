// Package progbar draws a progress bar within each training epoch on a terminal, as
// Keras' Progbar does: a train.Callback showing the batch out of the epoch's batches,
// the epoch's running loss and accuracy, examples per second and the time left.
//
//	epoch 3/10  loss 0.1234  acc 0.9612  48210 samples/s  45% [=============>.................] (765/1688) [0s:1s]
//
// It draws only on a terminal (golang.org/x/term.IsTerminal on the writer's file
// descriptor) unless forced, so logs, pipes and CI output stay clean; the bar clears
// itself at the end of the epoch, leaving the line to the caller's epoch summary.
// It lives apart from package train so that train does not depend on terminal
// libraries. (It draws the bar itself: the library it used, schollz/progressbar, links
// net/http, which made every gputrain binary depend on the C library.)
package progbar

import (
	"fmt"
	"io"
	"strings"
	"time"

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
	bar        *line
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
	// A resumed epoch starts at the batches another run trained (counted out of the
	// rate, so that the time left is this run's).
	b.bar = &line{w: b.w, width: b.opt.Width, throttle: b.opt.Throttle, total: s.Batches, start: time.Now(),
		done: s.Batch - 1, done0: s.Batch - 1, desc: b.status(s, 0)}
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
	b.bar.desc = b.status(s, time.Since(b.start))
	b.bar.add()
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
		b.bar.clear()
		b.bar = nil
	}
}

// line is one epoch's bar, redrawn in place with a carriage return:
//
//	<desc> 45% [=============>.................] (765/1688) [12s:15s]
//
// the time spent and the time left at this run's rate. It clears itself (spaces, then
// a carriage return) when the last batch is done, and draws at most once per throttle.
type line struct {
	w            io.Writer
	width        int // of the bar itself
	throttle     time.Duration
	desc         string
	total        int
	done, done0  int // batches done, and done before this run (a resume)
	start, drawn time.Time
	widest       int // the longest line drawn, which clear covers
	cleared      bool
}

// add counts a batch and redraws; the last one clears the line instead.
func (l *line) add() {
	l.done++
	if l.done >= l.total {
		l.clear()
		return
	}
	if now := time.Now(); l.drawn.IsZero() || now.Sub(l.drawn) >= l.throttle {
		l.drawn = now
		l.draw()
	}
}

func (l *line) draw() {
	elapsed := time.Since(l.start)
	left := time.Duration(0)
	if n := l.done - l.done0; n > 0 {
		left = elapsed / time.Duration(n) * time.Duration(l.total-l.done)
	}
	tail := fmt.Sprintf(" (%d/%d) [%ds:%ds]", l.done, l.total, int(elapsed.Seconds()), int(left.Seconds()))
	head := fmt.Sprintf("%s%3d%% [", l.desc, 100*l.done/l.total)
	width := l.width
	if f, ok := l.w.(interface{ Fd() uintptr }); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 { // shrink to the terminal
			width = min(width, max(cols-1-len(head)-len(tail)-1, 5))
		}
	}
	filled := width * l.done / l.total
	bar := strings.Repeat("=", max(filled-1, 0))
	if filled > 0 {
		bar += ">"
	}
	bar += strings.Repeat(".", width-filled)
	s := head + bar + "]" + tail
	l.widest = max(l.widest, len(s))
	fmt.Fprint(l.w, "\r"+s)
}

// clear overwrites what was drawn with spaces and returns to the line's start, once.
func (l *line) clear() {
	if l.cleared {
		return
	}
	l.cleared = true
	fmt.Fprint(l.w, "\r"+strings.Repeat(" ", l.widest)+"\r")
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
