package comm

import (
	"fmt"
	"os"
	"slices"

	"github.com/gputrain/gputrain/device"
)

// local is the Comm of a job of one process: its collectives check their arguments and
// leave the buffers as they are (the sum over one rank is the rank's own buffer).
type local struct {
	dev device.Backend
}

var _ Comm = (*local)(nil)

// openLocal opens the one-process Comm. Under a launcher that started several processes
// it refuses: N copies of one job writing the same checkpoint is never what was meant.
func openLocal(dev device.Backend) (Comm, error) {
	if l := Detect(); l.Size > 1 {
		return nil, fmt.Errorf("%s started %d processes, but local joins none of them (use mpi, nccl or auto)", l.Launcher, l.Size)
	}
	return &local{dev: dev}, nil
}

func (c *local) Kind() string           { return "local" }
func (c *local) Describe() string       { return "local: one process" }
func (c *local) Rank() int              { return 0 }
func (c *local) Size() int              { return 1 }
func (c *local) LocalRank() int         { return 0 }
func (c *local) LocalSize() int         { return 1 }
func (c *local) Device() device.Backend { return c.dev }

// AllReduceSum implements Comm: the sum over one rank is buf itself.
func (c *local) AllReduceSum(buf device.Buffer) error { return CheckFloat32("all-reduce", buf) }

// Broadcast implements Comm: root must be 0.
func (c *local) Broadcast(buf device.Buffer, root int) error {
	if err := CheckFloat32("broadcast", buf); err != nil {
		return err
	}
	return CheckRoot("broadcast", root, 1)
}

// AllGather implements Comm.
func (c *local) AllGather(p []byte) ([][]byte, error) { return [][]byte{slices.Clone(p)}, nil }

// Barrier implements Comm.
func (c *local) Barrier() error { return nil }

// Abort implements Comm: it exits the process.
func (c *local) Abort(code int) { os.Exit(code) }

// Close implements Comm.
func (c *local) Close() error { return nil }
