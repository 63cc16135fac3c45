package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadFile reads and decodes the safetensors file at path (see Decode). Its errors
// start "checkpoint: <path>: ".
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	f, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	return f, nil
}

// WriteFile writes f to path atomically (see writeAtomic): either the whole new file is
// at path, or whatever was there before is left untouched.
func WriteFile(path string, f *File) error {
	return writeAtomic(path, func(w io.Writer) error { return encode(w, f) })
}

// rename is os.Rename; tests replace it to fail the last step of a write.
var rename = os.Rename

// writeAtomic writes what write produces to path without ever exposing a partial file:
// it writes a temporary file in path's directory, flushes it to stable storage (fsync),
// renames it over path and syncs the directory. A failure at any step removes the
// temporary file and leaves path as it was. A new file gets mode 0644; a replaced file
// keeps its mode.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("checkpoint: %q is a directory name, want a file name", path)
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("checkpoint: %s is a directory", path)
		}
		mode = st.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: cannot write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("checkpoint: cannot write %s (left unchanged): %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable. A directory that cannot be synced (some file
	// systems refuse) does not undo a write that has already replaced path.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
