// Package plot draws a training History as a PNG figure with gonum.org/v1/plot: the
// training and validation loss per epoch in one panel, the training and validation
// accuracy in a second (for losses that classify), so that over-fitting, a validation
// curve turning up while the training curve keeps going down, is seen rather than
// read. The epoch of lowest validation loss is marked.
//
// It is a package of its own so that package train does not depend on gonum/plot and
// its fonts.
package plot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gputrain/gputrain/train"
)

// The colours of the curves: training blue, validation orange (matplotlib's first two).
var (
	TrainColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	ValColor   = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// Options shape the figure.
type Options struct {
	// Title is drawn above the panels ("training history" when empty).
	Title string
	// Width and Height are the image's size in pixels (1200×480 when 0).
	Width, Height int
}

const dpi = 96

// WritePNG draws h and encodes it as PNG on w, with a tEXt chunk "Software: gputrain"
// (IsPlot looks for it). It returns an error for an empty history or a bad size, and
// w's error. Non-finite values (a diverged epoch) are left out of the curves.
func WritePNG(w io.Writer, h *train.History, o Options) error {
	c, err := render(h, o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return fmt.Errorf("plot: writing PNG: %w", err)
	}
	png := b.Bytes()
	if len(png) < ihdrEnd || string(png[12:16]) != "IHDR" {
		return fmt.Errorf("plot: the PNG encoder wrote no IHDR chunk first")
	}
	for _, part := range [][]byte{png[:ihdrEnd], softwareChunk(), png[ihdrEnd:]} {
		if _, err := w.Write(part); err != nil {
			return fmt.Errorf("plot: writing PNG: %w", err)
		}
	}
	return nil
}

// ihdrEnd is where a PNG's first chunk, IHDR, ends: the 8-byte signature, then the
// length, type, 13 bytes of data and CRC of IHDR.
const ihdrEnd = 8 + 4 + 4 + 13 + 4

// software is the keyword and text of the tEXt chunk that marks our plots.
const software = "Software\x00gputrain"

// softwareChunk is the tEXt chunk "Software: gputrain": length, type, data, CRC-32 of
// type and data (PNG specification, 5.3).
func softwareChunk() []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(software)))
	c = append(c, "tEXt"+software...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// IsPlot reports whether the file at path is a PNG that WritePNG wrote (its second
// chunk is the "Software: gputrain" text), so that a program can tell its own plot
// from another image before it replaces the file.
func IsPlot(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	want := softwareChunk()
	head := make([]byte, ihdrEnd+len(want))
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return string(head[:8]) == "\x89PNG\r\n\x1a\n" && bytes.Equal(head[ihdrEnd:], want)
}

// SavePNG writes the figure of h to path atomically (train.WriteFileAtomic).
func SavePNG(path string, h *train.History, o Options) error {
	return train.WriteFileAtomic(path, func(w io.Writer) error { return WritePNG(w, h, o) })
}

// render draws the figure on a new image canvas.
func render(h *train.History, o Options) (*vgimg.Canvas, error) {
	if h == nil || len(h.Epochs) == 0 {
		return nil, fmt.Errorf("plot: the history has no epochs to draw")
	}
	if o.Width == 0 && o.Height == 0 {
		o.Width, o.Height = 1200, 480
	}
	if o.Width < 200 || o.Height < 150 || o.Width > 10000 || o.Height > 10000 {
		return nil, fmt.Errorf("plot: image size %dx%d pixels is outside 200x150 to 10000x10000", o.Width, o.Height)
	}
	if o.Title == "" {
		o.Title = "training history"
	}
	panels := []*gplot.Plot{}
	loss, err := panel(h, "loss", func(e train.EpochStats) (float64, float64) { return e.Loss, e.ValLoss }, true)
	if err != nil {
		return nil, err
	}
	panels = append(panels, loss)
	if h.Classifies {
		acc, err := panel(h, "accuracy", func(e train.EpochStats) (float64, float64) { return e.Accuracy, e.ValAccuracy }, false)
		if err != nil {
			return nil, err
		}
		panels = append(panels, acc)
	}

	inch := func(px int) vg.Length { return vg.Length(px) / dpi * vg.Inch }
	c := vgimg.NewWith(vgimg.UseWH(inch(o.Width), inch(o.Height)), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)

	// The title across the top, then the panels side by side below it.
	head := gplot.New()
	ts := head.Title.TextStyle
	ts.Font.Size = vg.Points(14)
	ts.XAlign, ts.YAlign = draw.XCenter, draw.YTop
	pad := vg.Points(6)
	dc.FillText(ts, vg.Point{X: dc.Center().X, Y: dc.Max.Y - pad}, o.Title)
	body := dc
	body.Max.Y -= ts.Height(o.Title) + 2*pad
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(18), PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := gplot.Align([][]*gplot.Plot{panels}, tiles, body)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	return c, nil
}

// panel makes one panel: training and validation values of a figure per epoch. For a
// loss (lossPanel) the best validation epoch is marked and the legend sits top right,
// with head room above the curves; for accuracy the legend sits bottom right.
func panel(h *train.History, name string, get func(train.EpochStats) (trainValue, valValue float64), lossPanel bool) (*gplot.Plot, error) {
	var tr, va plotter.XYs
	lo, hi := math.Inf(1), math.Inf(-1)
	best := -1
	// A step-based run's records are evaluation intervals, drawn at their last step.
	unit, at := "epoch", func(e train.EpochStats) int { return e.Epoch }
	if h.ByStep {
		unit, at = "step", func(e train.EpochStats) int { return e.Step }
	}
	for i, e := range h.Epochs {
		t, v := get(e)
		x := float64(at(e))
		if finite(t) {
			tr = append(tr, plotter.XY{X: x, Y: t})
			lo, hi = math.Min(lo, t), math.Max(hi, t)
		}
		if e.HasValidation && finite(v) {
			va = append(va, plotter.XY{X: x, Y: v})
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			if best < 0 || v < h.Epochs[best].ValLoss {
				best = i
			}
		}
	}
	p := gplot.New()
	title := name
	if lossPanel && h.Loss != "" {
		title += " (" + h.Loss + ")"
	}
	p.Title.Text = title + " per " + unit
	p.X.Label.Text = unit
	p.Y.Label.Text = name
	p.X.Tick.Marker = gplot.TickerFunc(integerTicks)
	first, last := float64(at(h.Epochs[0])), float64(at(h.Epochs[len(h.Epochs)-1]))
	margin := 0.5
	if h.ByStep {
		margin = math.Max(0.5, (last-first)*0.02)
	}
	p.X.Min, p.X.Max = first-margin, last+margin
	if len(tr) == 0 && len(va) == 0 {
		lo, hi = 0, 1
	}
	span := hi - lo
	if span < 1e-9 {
		span = math.Max(math.Abs(hi), 1) * 0.1
	}
	if lossPanel {
		p.Y.Min, p.Y.Max = math.Max(0, lo-0.05*span), hi+0.30*span // room for the legend
	} else {
		p.Y.Min, p.Y.Max = lo-0.35*span, hi+0.05*span // room for the legend below
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = lossPanel
	p.Legend.Padding = vg.Points(2)
	p.Legend.XOffs = -vg.Points(8) // keep the thumbnails off the panel's edge
	if err := addCurve(p, tr, "training", TrainColor, nil); err != nil {
		return nil, err
	}
	if len(va) > 0 {
		if err := addCurve(p, va, "validation", ValColor, []vg.Length{vg.Points(6), vg.Points(3)}); err != nil {
			return nil, err
		}
	}
	if lossPanel && best >= 0 {
		e := h.Epochs[best]
		mark, err := plotter.NewScatter(plotter.XYs{{X: float64(at(e)), Y: e.ValLoss}})
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		mark.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(5), Shape: draw.CircleGlyph{}}
		p.Add(mark)
		p.Legend.Add(fmt.Sprintf("best val_loss (%s %d)", unit, at(e)), mark)
	}
	return p, nil
}

// addCurve adds a line with a dot at each epoch.
func addCurve(p *gplot.Plot, xy plotter.XYs, label string, c color.Color, dashes []vg.Length) error {
	if len(xy) == 0 {
		return nil
	}
	line, dots, err := plotter.NewLinePoints(xy)
	if err != nil {
		return fmt.Errorf("plot: %s curve: %w", label, err)
	}
	line.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(2.5), Dashes: dashes}
	dots.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
	p.Add(line, dots)
	p.Legend.Add(label, line, dots)
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// integerTicks labels whole epochs, about eight of them at a step of 1, 2 or 5 × 10^k.
func integerTicks(lo, hi float64) []gplot.Tick {
	step := 1
	for n := 1; ; n *= 10 {
		found := false
		for _, m := range []int{1, 2, 5} {
			if (hi-lo)/float64(m*n) <= 8 {
				step, found = m*n, true
				break
			}
		}
		if found {
			break
		}
	}
	var ticks []gplot.Tick
	for v := int(math.Ceil(lo)); float64(v) <= hi; v++ {
		label := ""
		if v%step == 0 || step == 1 {
			label = strconv.Itoa(v)
		}
		ticks = append(ticks, gplot.Tick{Value: float64(v), Label: label})
	}
	if step > 1 && len(ticks) > 200 { // minor ticks only for moderate ranges
		major := ticks[:0]
		for _, t := range ticks {
			if t.Label != "" {
				major = append(major, t)
			}
		}
		ticks = major
	}
	return ticks
}
