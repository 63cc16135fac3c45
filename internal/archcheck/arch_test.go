// Package archcheck keeps docs/architecture.md's import table true: it compares the
// table with what `go list` says each package imports from this module.
package archcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/gputrain/gputrain/"

// docTable reads the "| package | imports |" table of docs/architecture.md: package →
// the module's packages it imports.
func docTable(t *testing.T) map[string][]string {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "| package | imports |")
	require.True(t, ok, "docs/architecture.md has no import table")
	out := map[string][]string{}
	for _, line := range strings.Split(rest, "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		require.Len(t, cells, 4, line)
		var imports []string
		for _, f := range strings.Split(cells[2], ",") {
			if f = strings.Trim(strings.TrimSpace(f), "`"); f != "" && f != "—" {
				f, _, _ = strings.Cut(f, " ") // "`cpu` (the reference…)"
				imports = append(imports, strings.Trim(f, "`"))
			}
		}
		sort.Strings(imports)
		for _, p := range strings.Split(cells[1], ",") {
			out[strings.Trim(strings.TrimSpace(p), "`")] = imports
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestImportTableIsTrue compares the table with the imports of every package it names.
func TestImportTableIsTrue(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	for pkg, want := range docTable(t) {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+pkg).Output()
		require.NoError(t, err, pkg)
		var have []string
		for _, imp := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if strings.HasPrefix(imp, module) {
				have = append(have, strings.TrimPrefix(imp, module))
			}
		}
		sort.Strings(have)
		if want == nil {
			want = []string{}
		}
		if have == nil {
			have = []string{}
		}
		assert.Equal(t, want, have, "docs/architecture.md: what %s imports", pkg)
	}
}

// TestNoLibraryImportsABackend: only commands, examples and tests import the concrete
// backends (device/devicetest compares with the cpu reference, by design).
func TestNoLibraryImportsABackend(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{.Name}} {{join .Imports " "}}`, module+"...").Output()
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, name := strings.TrimPrefix(f[0], module), f[1]
		if name == "main" || pkg == "device/devicetest" {
			continue
		}
		for _, imp := range f[2:] {
			assert.NotContains(t, []string{module + "cpu", module + "device/cuda"}, imp, "%s imports a concrete backend", pkg)
		}
	}
}
