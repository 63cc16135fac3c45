package train_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEExampleIsExampleTrainerFit keeps the README's library example true: every
// line of its Go block under "## As a library" must stand, in order, in
// example_test.go, whose ExampleTrainer_Fit runs it and checks its output.
func TestREADMEExampleIsExampleTrainerFit(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	example, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## As a library")
	require.True(t, ok, "README.md has no \"## As a library\" section")
	_, block, ok := strings.Cut(section, "```go\n")
	require.True(t, ok, "the library section has no ```go block")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok, "the ```go block is not closed")
	rest := string(example)
	lines := 0
	for _, line := range strings.Split(block, "\n") {
		if c := strings.Index(line, " // "); c >= 0 {
			line = line[:c] // the README may comment a line
		}
		line = strings.TrimSpace(line)
		if line == "" || line == "..." {
			continue
		}
		i := strings.Index(rest, line)
		require.GreaterOrEqual(t, i, 0, "README line %q is not in example_test.go (after the lines before it)", line)
		rest = rest[i+len(line):]
		lines++
	}
	require.Greater(t, lines, 10, "the README's example is too short to be the whole Example")
}
