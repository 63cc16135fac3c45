//go:build cuda

package nccl

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// These tests need no GPU: CI runs them with GPUTRAIN_NCCL_LIB pointing at the
// libnccl.so.2 of NVIDIA's PyPI wheel (internal/cudabuild/fetch-nccl.sh) and
// GPUTRAIN_REQUIRE_NCCL=1, which turns "NCCL not found" from a skip into a failure.

func TestMain(m *testing.M) {
	// A child of TestLoadErrors: report what Load says, nothing else.
	if os.Getenv("GPUTRAIN_NCCL_TEST_CHILD") == "load" {
		_, err := Load()
		fmt.Println("load error:", err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func load(t *testing.T) *Lib {
	t.Helper()
	l, err := Load()
	if err != nil {
		if os.Getenv("GPUTRAIN_REQUIRE_NCCL") == "1" {
			t.Fatal(err)
		}
		t.Skipf("no NCCL here (GPUTRAIN_REQUIRE_NCCL=1 makes this a failure): %v", err)
	}
	return l
}

// The version ncclGetVersion gives is the one the library's own banner string states
// ("NCCL version 2.30.7+cuda13.3", read from the file's bytes), and the one the
// wheel's name states when the caller says (GPUTRAIN_NCCL_VERSION).
func TestVersion(t *testing.T) {
	l := load(t)
	if filepath.Base(l.Path()) != Soname {
		t.Errorf("loaded from %s, want a file named %s", l.Path(), Soname)
	}
	raw, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatalf("reading the loaded library: %v", err)
	}
	m := regexp.MustCompile(`NCCL version (\d+)\.(\d+)\.(\d+)\+cuda`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("%s has no \"NCCL version X.Y.Z+cuda\" banner", l.Path())
	}
	banner := fmt.Sprintf("%s.%s.%s", m[1], m[2], m[3])
	t.Logf("%s: ncclGetVersion %d = %s, banner %s", l.Path(), l.Version(), l.VersionString(), banner)
	if l.VersionString() != banner {
		t.Errorf("ncclGetVersion says %s (%d), the library's banner %s", l.VersionString(), l.Version(), banner)
	}
	if want := os.Getenv("GPUTRAIN_NCCL_VERSION"); want != "" && l.VersionString() != want {
		t.Errorf("version %s, want %s (GPUTRAIN_NCCL_VERSION)", l.VersionString(), want)
	}
}

// Each unique id is a fresh bootstrap endpoint: not zero, and not the same twice.
func TestUniqueID(t *testing.T) {
	l := load(t)
	a, err := l.UniqueID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.UniqueID()
	if err != nil {
		t.Fatal(err)
	}
	if a == (UniqueID{}) || b == (UniqueID{}) {
		t.Fatalf("zero unique id: %x / %x", a[:16], b[:16])
	}
	if a == b {
		t.Errorf("two calls gave the same unique id %x", a[:16])
	}
	t.Logf("unique ids %x… and %x…", a[:16], b[:16])
}

func TestVersionString(t *testing.T) {
	for code, want := range map[int]string{23007: "2.30.7", 21903: "2.19.3", 2804: "2.8.4", 2408: "2.4.8"} {
		if got := (&Lib{version: code}).VersionString(); got != want {
			t.Errorf("version %d: %s, want %s", code, got, want)
		}
	}
}

// A missing file and a library that is not NCCL give errors that say so and how to
// install NCCL. Load keeps what it loaded, so each case runs in a fresh process.
func TestLoadErrors(t *testing.T) {
	libc := ""
	for _, p := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"} {
		if _, err := os.Stat(p); err == nil {
			libc = p
			break
		}
	}
	dir := t.TempDir()
	cases := []struct{ env, want string }{
		{filepath.Join(dir, "nothing.so"), "cannot load " + filepath.Join(dir, "nothing.so")},
		{dir, "cannot load " + filepath.Join(dir, Soname)},
	}
	if libc != "" {
		cases = append(cases, struct{ env, want string }{libc, libc + " has no function ncclGetVersion"})
	}
	for _, c := range cases {
		cmd := exec.Command(os.Args[0], "-test.run", "^$")
		cmd.Env = append(os.Environ(), "GPUTRAIN_NCCL_TEST_CHILD=load", "GPUTRAIN_NCCL_LIB="+c.env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, want := range []string{c.want, "GPUTRAIN_NCCL_LIB=" + c.env, "nvidia-nccl-cu13"} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("GPUTRAIN_NCCL_LIB=%s: %q does not say %q", c.env, strings.TrimSpace(string(out)), want)
			}
		}
	}
}
