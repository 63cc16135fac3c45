// Package interop finds the Python environment of the interop tests (setup.sh makes
// it; requirements.txt pins it) for the tests that compare gputrain with PyTorch,
// TensorBoard and ONNX Runtime, and runs ONNX models in onnxruntime (RunONNX).
package interop

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Python returns a Python interpreter that can run the statement imports ("import
// numpy, onnx"): $GPUTRAIN_PYTHON, or the repository's .venv. When there is none it
// skips the test with a message naming what was tried and how to make one, or fails
// it when $GPUTRAIN_REQUIRE_INTEROP is 1 (as CI sets it after running setup.sh). what
// names the packages for the message.
func Python(t testing.TB, what, imports string) string {
	t.Helper()
	py := os.Getenv("GPUTRAIN_PYTHON")
	if py == "" {
		root, err := RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		py = filepath.Join(root, ".venv", "bin", "python")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", imports).CombinedOutput()
	if err != nil {
		why := err.Error()
		if l := bytes.TrimSpace(out); len(l) > 0 {
			if i := bytes.LastIndexByte(l, '\n'); i >= 0 {
				l = l[i+1:]
			}
			why += ": " + string(l)
		}
		msg := "cannot run: no python with " + what + " (tried " + py + ": " + why + "); run `bash internal/interop/setup.sh` or set GPUTRAIN_PYTHON"
		if os.Getenv("GPUTRAIN_REQUIRE_INTEROP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

// RepoRoot is the folder holding go.mod, above the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
