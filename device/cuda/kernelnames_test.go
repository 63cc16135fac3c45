package cuda

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/kernels"
)

// The backend loads every kernel of kernelTable by name when it opens; this checks, with
// no GPU, that each one is in its family's embedded PTX and that no PTX kernel is unused.
func TestKernelTableMatchesPTX(t *testing.T) {
	used := map[string]bool{}
	for id, k := range kernelTable {
		require.NotEmpty(t, k.symbol, "kernel %d has no table entry", id)
		ptx, err := kernels.PTX(k.family)
		require.NoError(t, err)
		assert.Contains(t, kernels.Entries(ptx), k.symbol, "family %s", k.family)
		used[k.symbol] = true
	}
	for _, family := range kernels.Families() {
		ptx, err := kernels.PTX(family)
		require.NoError(t, err)
		for _, name := range kernels.Entries(ptx) {
			assert.True(t, used[name], "kernel %s (%s.ptx) is not in kernelTable", name, family)
		}
	}
}
