// Package atomicfile writes files so that a reader, or a crash, never sees a part of one.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Write writes what write produces to path without ever exposing a partial file: it
// writes a temporary file in path's directory (".NAME.tmp-HOST-PID-RANDOM", HOST a
// hash of the host name and PID the writer's process, so that RemoveStale can tell
// whose it is), flushes it to stable storage (fsync), renames it over path and syncs
// the directory. A failure at any step removes the
// temporary file and leaves path as it was; the error is write's own, or one naming
// path. A new file gets mode 0644; a replaced file keeps its mode.
func Write(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("%q is a directory name, want a file name", path)
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory, want a file", path)
		}
		mode = st.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(base)+hostTag()+"-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
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
	if err := os.Rename(tmp.Name(), path); err != nil {
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

// tempPrefix starts the names of the temporary files of path's base name.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// hostTag is the first 8 hex digits of the FNV-1a hash of the host name: temporary
// files of processes on other hosts (a shared file system) are told apart by it.
func hostTag() string {
	name, err := os.Hostname()
	if err != nil {
		name = "?"
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%08x", h.Sum32())
}

// StaleAge is how long a temporary file must have gone unmodified before RemoveStale
// removes it when it cannot tell whether its writer is alive (it came from another
// host, or from a version that did not name its writer).
const StaleAge = time.Hour

// RemoveStale removes the temporary files that writes of path left behind when their
// process was killed mid-write (they are never renamed, and a kill -9 runs no clean-up):
// those of this host whose writing process no longer exists, and any not modified for
// StaleAge (from another host, an older gputrain, or a process id reused since). A write in progress, here or on another host sharing the
// directory, keeps its file. It returns the names removed; an error only when the
// directory cannot be read (a missing directory removes nothing).
func RemoveStale(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prefix, host, self := tempPrefix(base), hostTag(), os.Getpid()
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !e.Type().IsRegular() {
			continue
		}
		parts := strings.SplitN(strings.TrimPrefix(name, prefix), "-", 3)
		pid := -1
		if len(parts) == 3 && parts[0] == host {
			if n, err := strconv.Atoi(parts[1]); err == nil && n > 0 {
				pid = n
			}
		}
		if pid == self {
			continue // ours: a write in progress in this process
		}
		stale := pid > 0 && !processAlive(pid)
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > StaleAge {
			stale = true
		}
		if !stale {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err == nil {
			removed = append(removed, filepath.Join(dir, name))
		}
	}
	return removed, nil
}
