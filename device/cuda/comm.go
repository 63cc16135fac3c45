//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/device/cuda/nccl"
)

// The nccl kind of device/comm: NCCL sums and broadcasts the backend's buffers on its
// stream, GPU to GPU; MPI (the mpi kind, which needs the mpi build tag) numbers the ranks,
// carries NCCL's unique id from rank 0 to the others, and runs Barrier, AllGather and
// Abort. A process that no launcher started is a job of one rank: NCCL then starts
// without MPI (the local kind takes MPI's place), so one GPU runs the whole NCCL path
// in a binary built without the mpi tag. libnccl.so.2 is loaded at run time (package
// nccl).

func init() {
	comm.Register("nccl", func(dev device.Backend) (comm.Comm, error) {
		b, ok := dev.(*Backend)
		if !ok {
			return nil, fmt.Errorf("nccl sums CUDA buffers: it needs the cuda backend, not %s (use mpi)", dev.Name())
		}
		return b.openNCCL()
	})
}

// ncclComm is the nccl kind of comm.Comm on one Backend.
type ncclComm struct {
	comm.Comm // the mpi kind: rank, size, AllGather, Barrier
	b         *Backend
	lib       *nccl.Lib
	nc        *nccl.Comm
}

var _ comm.Comm = (*ncclComm)(nil)

// openNCCL loads NCCL, joins MPI (or, without a launcher, opens the local kind), and
// makes the job's NCCL communicator on b's GPU: rank 0 makes the unique id, MPI gives it
// to every rank, and each joins with ncclCommInitRank in b's context.
func (b *Backend) openNCCL() (comm.Comm, error) {
	lib, err := nccl.Load()
	if err != nil {
		return nil, err
	}
	boot := "mpi"
	if comm.Detect().Launcher == "" {
		boot = "local"
	}
	mpi, err := comm.Open(boot, b)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // comm.Open("nccl") names the launcher already
		}
		return nil, fmt.Errorf("nccl exchanges its unique id over MPI: %w", err)
	}
	fail := func(err error) (comm.Comm, error) {
		mpi.Close()
		return nil, err
	}
	var id nccl.UniqueID
	var mine []byte
	if mpi.Rank() == 0 {
		if id, err = lib.UniqueID(); err != nil {
			// the others are waiting in the all-gather: let them fail too
			mpi.AllGather(nil)
			return fail(err)
		}
		mine = id[:]
	}
	all, err := mpi.AllGather(mine)
	if err != nil {
		return fail(err)
	}
	if len(all[0]) != len(id) {
		return fail(fmt.Errorf("nccl: rank 0 could not make a unique id (it sent %d bytes)", len(all[0])))
	}
	copy(id[:], all[0])
	unbind := b.bind()
	nc, err := lib.InitRank(mpi.Size(), id, mpi.Rank())
	unbind()
	if err != nil {
		return fail(err)
	}
	return &ncclComm{Comm: mpi, b: b, lib: lib, nc: nc}, nil
}

// Kind implements comm.Comm.
func (c *ncclComm) Kind() string { return "nccl" }

// Describe implements comm.Comm.
func (c *ncclComm) Describe() string {
	return fmt.Sprintf("nccl: rank %d of %d, NCCL %s (%s), over %s", c.Rank(), c.Size(), c.lib.VersionString(), c.lib.Path(), c.Comm.Describe())
}

// Device implements comm.Comm.
func (c *ncclComm) Device() device.Backend { return c.b }

// stream is the backend's CUstream as an address.
func (c *ncclComm) stream() uintptr { return *(*uintptr)(unsafe.Pointer(&c.b.stream)) }

// collective checks buf and queues fn on the backend's stream, outside any CUDA graph:
// inside Backend.Step the step's recording ends there and runs its ops one by one (see
// graph.go), so call the collectives between steps.
func (c *ncclComm) collective(op string, buf device.Buffer, fn func(ptr uintptr, n int) error) error {
	if err := comm.CheckFloat32(op, buf); err != nil {
		return err
	}
	bx, err := c.b.buf(buf)
	if err != nil {
		return err
	}
	if bx.n == 0 {
		return nil
	}
	defer c.b.bind()()
	if err := c.b.rec.hostSync("nccl " + op); err != nil {
		return err
	}
	if err := c.nc.AsyncError(); err != nil {
		return err
	}
	return fn(bx.ptr, bx.n)
}

// AllReduceSum implements comm.Comm: ncclAllReduce(sum) in place on the backend's stream;
// it returns once queued.
func (c *ncclComm) AllReduceSum(buf device.Buffer) error {
	return c.collective("all-reduce", buf, func(ptr uintptr, n int) error {
		return c.nc.AllReduceSumFloat32(ptr, n, c.stream())
	})
}

// Broadcast implements comm.Comm: ncclBroadcast in place on the backend's stream.
func (c *ncclComm) Broadcast(buf device.Buffer, root int) error {
	if err := comm.CheckRoot("broadcast", root, c.Size()); err != nil {
		return err
	}
	return c.collective("broadcast", buf, func(ptr uintptr, n int) error {
		return c.nc.BroadcastFloat32(ptr, n, root, c.stream())
	})
}

// Abort implements comm.Comm: it abandons NCCL's queued work, then aborts MPI.
func (c *ncclComm) Abort(code int) {
	c.nc.Abort()
	c.Comm.Abort(code)
}

// Close implements comm.Comm: it waits for the queued work, frees the NCCL communicator
// and closes MPI.
func (c *ncclComm) Close() error {
	err := c.b.Sync()
	unbind := c.b.bind()
	if e := c.nc.Destroy(); err == nil {
		err = e
	}
	unbind()
	if e := c.Comm.Close(); err == nil {
		err = e
	}
	return err
}
