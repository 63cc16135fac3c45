package main

// The files a run writes are checked before it loads anything: each output's folder
// must exist and take a new file (a probe file is made and removed), no two outputs
// may name the same file, no output may name one of the run's inputs (-resume may be
// -save's: that is how a run is continued), and an existing file is replaced only if
// gputrain wrote it (a checkpoint, our plot, a history file), or with -overwrite, or
// when it is empty. -tensorboard's folder must take new files and must not be made
// where an output file goes. So a mistake in a path costs nothing, not an epoch, and
// the files a run replaces are its own.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gputrain/gputrain/internal/atomicfile"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
	"github.com/gputrain/gputrain/train/plot"
)

// output is a file a run writes.
type output struct {
	flag, path string
	what       string            // "a gputrain checkpoint"
	ours       func(string) bool // whether an existing file is one of ours
}

// input is a file a run reads.
type input struct{ flag, path string }

// outputs are the run's output files (not TensorBoard's folder).
func outputs(o *options) []output {
	var out []output
	for _, f := range []output{
		{"-save", o.ckpt.save, "a gputrain checkpoint", checkpoint.IsCheckpoint},
		{"-plot", o.conv.plot, "a gputrain plot", plot.IsPlot},
		{"-history", o.conv.history, "a gputrain history file", train.IsHistoryFile},
	} {
		if f.path != "" {
			out = append(out, f)
		}
	}
	return out
}

// inputs are the files a run reads that a flag names.
func inputs(o *options) []input {
	var in []input
	add := func(flag, path string) {
		if path != "" {
			in = append(in, input{flag, path})
		}
	}
	add("-resume", o.ckpt.resume)
	add("-init", o.tune.init)
	if !presetModel(o.model) {
		add("-model", o.model)
	}
	for _, f := range datasetFiles(o.dataset) {
		add("-dataset", f)
	}
	switch o.dataset {
	case "insteval":
		add("-dataset", data.DefaultInstEvalFile)
	case "mnist", "fashion-mnist": // the IDX files (train/data.LoadMNIST), raw or gzip
		dir := o.dataDir
		if dir == "" {
			dir = map[string]string{"mnist": data.DefaultMNISTDir, "fashion-mnist": data.DefaultFashionMNISTDir}[o.dataset]
		}
		for _, name := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
			add("-data", filepath.Join(dir, name))
			add("-data", filepath.Join(dir, name+".gz"))
		}
	}
	return in
}

// datasetFiles are the files a -dataset value names: kind:FILE[:key=FILE…].
func datasetFiles(dataset string) []string {
	kind, rest, ok := strings.Cut(dataset, ":")
	if !ok || kind == "" {
		return nil
	}
	var files []string
	for i, part := range strings.Split(rest, ":") {
		if i == 0 {
			files = append(files, part)
		} else if k, v, ok := strings.Cut(part, "="); ok && k == "test" {
			files = append(files, v)
		}
	}
	return files
}

// samePath reports whether a and b name one file: the same cleaned absolute path, or
// the same existing file (links).
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == bb {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// checkFiles checks the run's output files (see the file comment). Rank 0 of a
// data-parallel job alone writes them, maybe on another machine: the other ranks check
// nothing.
func checkFiles(o *options) error {
	if launchRank() != 0 {
		return nil
	}
	outs := outputs(o)
	for i, a := range outs {
		for _, b := range outs[i+1:] {
			if samePath(a.path, b.path) {
				return usageError{fmt.Sprintf("%s and %s name the same file, %s: give each its own", a.flag, b.flag, a.path)}
			}
		}
		for _, in := range inputs(o) {
			if in.flag == "-resume" && a.flag == "-save" {
				continue // continuing a run in its own checkpoint
			}
			if samePath(a.path, in.path) {
				return usageError{fmt.Sprintf("%s %s is the file %s reads: writing it would destroy an input", a.flag, a.path, in.flag)}
			}
		}
		if err := checkOutput(a, o.ckpt.overwrite); err != nil {
			return err
		}
	}
	if d := o.conv.tensorboard; d != "" {
		for _, a := range outs {
			if within(d, a.path) {
				return usageError{fmt.Sprintf("-tensorboard %s would be made where %s writes its file %s: give each its own", d, a.flag, a.path)}
			}
		}
		if err := checkFolder("-tensorboard", d); err != nil {
			return err
		}
	}
	return nil
}

// within reports whether the path dir is file or lies under it (a folder made there
// would take the file's place).
func within(dir, file string) bool {
	d, err1 := filepath.Abs(dir)
	f, err2 := filepath.Abs(file)
	if err1 != nil || err2 != nil {
		return false
	}
	return d == f || strings.HasPrefix(d, f+string(filepath.Separator))
}

// checkOutput checks one output file: its folder takes new files, and an existing
// file is ours, empty, or may be replaced (overwrite).
func checkOutput(f output, overwrite bool) error {
	st, err := os.Stat(f.path)
	switch {
	case err == nil && st.IsDir():
		return usageError{fmt.Sprintf("%s %s is a folder, want a file", f.flag, f.path)}
	case err == nil && !st.Mode().IsRegular():
		return usageError{fmt.Sprintf("%s %s is not a regular file", f.flag, f.path)}
	case err == nil && st.Size() > 0 && !overwrite && !f.ours(f.path):
		return usageError{fmt.Sprintf("%s %s: the file exists and is not %s; give another name, or -overwrite to replace it", f.flag, f.path, f.what)}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return usageError{fmt.Sprintf("%s %s: %v", f.flag, f.path, err)}
	}
	dir := filepath.Dir(f.path)
	if err := probe(dir); err != nil {
		return usageError{fmt.Sprintf("%s %s: cannot write in the folder %s: %v", f.flag, f.path, dir, err)}
	}
	return nil
}

// checkFolder checks a folder the run writes files into: it exists and takes them, or
// the nearest existing folder above it does (the run makes the rest).
func checkFolder(flag, dir string) error {
	d := dir
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return usageError{fmt.Sprintf("%s %q: %s is not a folder", flag, dir, d)}
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return usageError{fmt.Sprintf("%s %q: %v", flag, dir, err)}
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if err := probe(d); err != nil {
		return usageError{fmt.Sprintf("%s %q: cannot write in %s: %v", flag, dir, d, err)}
	}
	return nil
}

// probe makes and removes a file in dir: whether a new file can be written there now.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".gputrain-probe-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// removeStale removes the temporary files that killed saves of the run's outputs left
// (internal/atomicfile), saying so on w.
func removeStale(o *options, note func(string)) {
	for _, f := range outputs(o) {
		removed, _ := atomicfile.RemoveStale(f.path) // a folder that cannot be listed: checkOutput said so
		for _, r := range removed {
			note(fmt.Sprintf("removed %s, left by a save that was killed", r))
		}
	}
}
