package kernels_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/kernels"
)

var kernelDecl = regexp.MustCompile(`extern "C" __global__ void (\w+)\(`)

// Every .cu file has a committed PTX module that defines exactly its kernels, each
// named <op>_<dtype> (a cast names its output type last: cast_f32_to_bf16), and targets sm_80 at a PTX ISA the CUDA 11+ drivers accept.
func TestEmbeddedPTXMatchesSources(t *testing.T) {
	sources, err := filepath.Glob("*.cu")
	require.NoError(t, err)
	require.NotEmpty(t, sources)
	var families []string
	for _, src := range sources {
		family := strings.TrimSuffix(src, ".cu")
		families = append(families, family)
		text, err := os.ReadFile(src)
		require.NoError(t, err)
		var want []string
		for _, m := range kernelDecl.FindAllStringSubmatch(string(text), -1) {
			want = append(want, m[1])
		}
		// macro-made kernels (binary.cu) are declared through NAME##_f32
		if strings.Contains(string(text), "##_f32") {
			want = nil
		}
		ptx, err := kernels.PTX(family)
		require.NoError(t, err)
		assert.Contains(t, ptx, ".target sm_80", family)
		assert.Contains(t, ptx, ".version 7.0", family)
		got := kernels.Entries(ptx)
		require.NotEmpty(t, got, family)
		for _, name := range got {
			assert.Regexp(t, `^[a-z0-9_]+_(f32|i32|bf16|f16)$`, name, family)
		}
		if want != nil {
			assert.ElementsMatch(t, want, got, family)
		}
	}
	assert.Equal(t, families, kernels.Families())
}

func TestPTXUnknownFamily(t *testing.T) {
	_, err := kernels.PTX("nope")
	assert.ErrorContains(t, err, `kernels: no PTX for op family "nope"`)
}
