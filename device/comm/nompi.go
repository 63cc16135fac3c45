//go:build !mpi

package comm

import "github.com/gputrain/gputrain/device"

// Without the mpi build tag the kind is registered, so that asking for it (or being
// launched by mpirun) names the problem, but it never opens.
func init() {
	Register("mpi", func(device.Backend) (Comm, error) { return nil, ErrNoMPI })
}
