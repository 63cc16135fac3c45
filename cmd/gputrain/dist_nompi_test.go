//go:build !mpi

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A binary built without MPI support, started by mpirun, says so and exits 2 on every
// rank, rather than training N separate models; -dist none refuses to be one of N.
func TestDistWithoutMPISupport(t *testing.T) {
	unsetLaunch(t)
	t.Setenv("OMPI_COMM_WORLD_RANK", "1")
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	t.Setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1")
	for _, c := range []struct {
		dist, want string
	}{
		{"auto", "comm: cannot open mpi (started by mpirun as rank 1 of 2): this binary was built without MPI support (build with -tags mpi"},
		{"mpi", "comm: cannot open mpi (started by mpirun as rank 1 of 2): this binary was built without MPI support"},
		{"none", "comm: cannot open local (started by mpirun as rank 1 of 2): mpirun started 2 processes, but local joins none of them"},
	} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, run([]string{"-device", "cpu", "-dist", c.dist}, &out, &errb), c.dist)
		assert.Equal(t, 1, strings.Count(errb.String(), "\n"), errb.String())
		assert.Contains(t, errb.String(), c.want)
		assert.Empty(t, out.String())
	}
}
