//go:build !cuda

package cuda

import (
	"errors"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
)

// Without the cuda build tag the nccl kind is registered, so that asking for it (or
// -dist auto on a job launched by mpirun) names the problem, but it never opens.
func init() {
	comm.Register("nccl", func(device.Backend) (comm.Comm, error) {
		return nil, errors.New("this binary was built without CUDA support, which nccl needs (build with -tags \"cuda mpi\")")
	})
}
