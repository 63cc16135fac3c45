// Package interop finds the Python environment of the tests that compare against
// PyTorch (internal/interop/setup.sh makes it: torch, safetensors, numpy).
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

// Python returns a Python with torch, safetensors and numpy: $GPUTRAIN_PYTHON, or the
// repository's .venv. It skips the test when there is none, or fails it when
// $GPUTRAIN_REQUIRE_INTEROP is 1 (as CI sets it after running the setup).
func Python(t testing.TB) string {
	t.Helper()
	py := os.Getenv("GPUTRAIN_PYTHON")
	if py == "" {
		root, err := RepoRoot()
		if err != nil {
			t.Fatalf("interop: %v", err)
		}
		py = filepath.Join(root, ".venv", "bin", "python")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import torch, safetensors.torch, safetensors.numpy, numpy").CombinedOutput()
	if err != nil {
		why := err.Error()
		if l := lastLine(out); len(l) > 0 {
			why += ": " + string(l)
		}
		msg := "cannot run: no python with torch and safetensors (tried " + py + ": " + why + "); run `make interop-env` or set GPUTRAIN_PYTHON"
		if os.Getenv("GPUTRAIN_REQUIRE_INTEROP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// RepoRoot is the directory of go.mod above the working directory (a test's package
// directory).
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
