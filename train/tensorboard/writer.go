package tensorboard

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// WriterOptions configure a Writer; the zero value is TensorFlow's behaviour.
type WriterOptions struct {
	// Now is the clock of the events' wall times and of the file name (time.Now when
	// nil).
	Now func() time.Time
	// FlushEvery is the longest time an event waits in the Writer's buffer before it is
	// written to the file, checked at each event (10 s when 0; negative: write every
	// event at once). Flush and Close write the buffer whatever its age.
	FlushEvery time.Duration
	// Suffix ends the file name (TensorFlow 2 uses ".v2"; none by default).
	Suffix string
}

// fileSeq numbers the files this process creates, as TensorFlow's global uid does, so
// that two writers started in the same second get distinct names.
var fileSeq atomic.Int64

// Writer writes one TensorBoard event file: a sequence of TFRecord-framed Event
// messages, the first holding the file version. It is safe for concurrent use. After a
// write error every later call returns that error.
type Writer struct {
	mu         sync.Mutex
	path       string
	f          *os.File
	bw         *bufio.Writer
	now        func() time.Time
	flushEvery time.Duration
	lastFlush  time.Time
	err        error
	closed     bool

	// Scratch buffers, reused so that logging a scalar allocates nothing.
	value, summary, event, record []byte
}

// NewWriter creates dir (and its parents) if needed and a new event file in it, named
// as TensorFlow names them, events.out.tfevents.<unix seconds, 10 digits>.<host>.<pid>.<n><suffix>,
// and writes the file-version event. Errors name the path.
func NewWriter(dir string, opt WriterOptions) (*Writer, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.FlushEvery == 0 {
		opt.FlushEvery = 10 * time.Second
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	now := opt.Now()
	name := fmt.Sprintf("events.out.tfevents.%010d.%s.%d.%d%s", now.Unix(), host, os.Getpid(), fileSeq.Add(1)-1, opt.Suffix)
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	w := &Writer{path: path, f: f, bw: bufio.NewWriterSize(f, 64<<10), now: opt.Now, flushEvery: opt.FlushEvery, lastFlush: now}
	w.event = appendFileVersionEvent(w.event[:0], wallTime(now))
	if err := w.writeEvent(); err != nil {
		f.Close()
		return nil, err
	}
	if err := w.flush(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// Path is the event file's path.
func (w *Writer) Path() string { return w.path }

// wallTime is t in seconds since 1970 (whole seconds exact, as far as float64 allows).
func wallTime(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

// Scalar writes the scalar v (stored as float32, as TensorBoard's simple_value is) under
// tag at step.
func (w *Writer) Scalar(tag string, step int64, v float64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.value = appendScalarValue(w.value[:0], tag, float32(v))
	return w.writeSummary(step)
}

// Histogram writes h under tag at step.
func (w *Writer) Histogram(tag string, step int64, h *Histogram) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.value = appendHistogramValue(w.value[:0], tag, h)
	return w.writeSummary(step)
}

// HistogramOf writes the histogram of values (NewHistogram) under tag at step.
func (w *Writer) HistogramOf(tag string, step int64, values []float32) error {
	h, err := NewHistogram(values)
	if err != nil {
		return fmt.Errorf("%w (tag %q, step %d, file %s)", err, tag, step, w.path)
	}
	return w.Histogram(tag, step, h)
}

// Text writes markdown text under tag at step, for TensorBoard's text dashboard.
func (w *Writer) Text(tag string, step int64, markdown string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.value = appendTextValue(w.value[:0], tag, markdown)
	return w.writeSummary(step)
}

// writeSummary writes an event at step holding a Summary of the one value in w.value.
func (w *Writer) writeSummary(step int64) error {
	if err := w.usable(); err != nil {
		return err
	}
	now := w.now()
	w.summary = appendBytesField(w.summary[:0], summaryValue, w.value)
	w.event = appendEvent(w.event[:0], wallTime(now), step, w.summary)
	if err := w.writeEvent(); err != nil {
		return err
	}
	if w.flushEvery < 0 || now.Sub(w.lastFlush) >= w.flushEvery {
		return w.flush()
	}
	return nil
}

func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("tensorboard: %s: write after Close", w.path)
	}
	return nil
}

// writeEvent frames w.event as a record into the buffer.
func (w *Writer) writeEvent() error {
	w.record = appendRecord(w.record[:0], w.event)
	if _, err := w.bw.Write(w.record); err != nil {
		w.err = fmt.Errorf("tensorboard: write %s: %w", w.path, err)
	}
	return w.err
}

func (w *Writer) flush() error {
	if err := w.bw.Flush(); err != nil && w.err == nil {
		w.err = fmt.Errorf("tensorboard: write %s: %w", w.path, err)
	}
	w.lastFlush = w.now()
	return w.err
}

// Flush writes the buffered events to the file.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	return w.flush()
}

// Close flushes the events and closes the file. Closing twice returns the first
// Close's error.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil {
		w.flush()
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("tensorboard: close %s: %w", w.path, err)
	}
	return w.err
}
