package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// -dist's errors: one line, exit status 2, naming the problem. The jobs themselves run
// under mpirun in dist_mpi_test.go (make comm-check).
func TestDistFlagErrors(t *testing.T) {
	unsetLaunch(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-dist", "gloo"}, `-dist "gloo": want auto, none, mpi or nccl`},
		{[]string{"-device", "cpu", "-dist", "nccl"}, "comm: cannot open nccl: this binary was built without CUDA support, which nccl needs"},
	} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, run(c.args, &out, &errb), strings.Join(c.args, " "))
		assert.Equal(t, 1, strings.Count(errb.String(), "\n"), errb.String())
		assert.Contains(t, errb.String(), c.want)
	}
}

// launcherVars are the variables comm.Detect reads.
var launcherVars = []string{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
	"SLURM_STEP_ID", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"}

// unsetLaunch makes this process look started by no launcher, for the test.
func unsetLaunch(t *testing.T) {
	for _, k := range launcherVars {
		t.Setenv(k, "")
	}
}
