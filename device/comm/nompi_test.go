//go:build !mpi && !cuda

package comm_test

import (
	"testing"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device/comm"
	_ "github.com/gputrain/gputrain/device/cuda" // registers the nccl kind (here: not compiled)
)

// A job launched as N processes by a binary without MPI says why it cannot run, instead
// of training N separate models.
func TestWithoutMPI(t *testing.T) {
	dev := cpu.New(cpu.Options{Threads: 1})
	setLaunch(t, "OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_LOCAL_RANK=1")
	for kind, want := range map[string]string{
		"auto": "comm: cannot open mpi (started by mpirun as rank 1 of 2): " + comm.ErrNoMPI.Error(),
		"mpi":  "comm: cannot open mpi (started by mpirun as rank 1 of 2): " + comm.ErrNoMPI.Error(),
		"nccl": `comm: cannot open nccl (started by mpirun as rank 1 of 2): this binary was built without CUDA support, which nccl needs (build with -tags "cuda mpi")`,
	} {
		if _, err := comm.Open(kind, dev); err == nil || err.Error() != want {
			t.Errorf("Open(%q):\n got %v\nwant %s", kind, err, want)
		}
	}
	setLaunch(t)
	if _, err := comm.Open("mpi", dev); err == nil || err.Error() != "comm: cannot open mpi: "+comm.ErrNoMPI.Error() {
		t.Errorf("Open(mpi) without a launcher: %v", err)
	}
}
