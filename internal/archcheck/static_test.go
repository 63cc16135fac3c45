package archcheck

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The default build of gputrain links no C: no package it is made of has cgo files
// (the CUDA and MPI code sits behind build tags), so the go command links it by itself
// into a static binary that copies onto any Linux host, whether cgo is enabled or not.
// (A dependency that pulled in package net, whose DNS resolver uses cgo, made it
// dynamic once.)
func TestDefaultBuildIsStatic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("checks a Linux ELF binary")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .CgoFiles}}{{.ImportPath}}{{end}}", "../../cmd/gputrain").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "packages of the default build with cgo files")

	for _, cgo := range []string{"1", "0"} {
		t.Run("CGO_ENABLED="+cgo, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "gputrain")
			cmd := exec.Command("go", "build", "-o", bin, "../../cmd/gputrain")
			cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			f, err := elf.Open(bin)
			require.NoError(t, err)
			defer f.Close()
			for _, p := range f.Progs {
				assert.NotEqual(t, elf.PT_INTERP, p.Type, "a program interpreter (the dynamic linker)")
				assert.NotEqual(t, elf.PT_DYNAMIC, p.Type, "a dynamic section")
			}
			libs, err := f.ImportedLibraries()
			require.NoError(t, err)
			assert.Empty(t, libs, "shared libraries needed")
		})
	}
}
