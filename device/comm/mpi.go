//go:build mpi

package comm

// The mpi kind: Open MPI through cgo (pkg-config ompi-c), on MPI_COMM_WORLD.

/*
#cgo pkg-config: ompi-c
#include <mpi.h>
#include <stdlib.h>

// MPI counts are ints: longer buffers go in pieces of at most 2^30 elements.
#define GT_PIECE (1LL << 30)

static int gt_initialized(void) {
	int done = 0;
	MPI_Initialized(&done);
	return done;
}

static int gt_init(int *provided) { return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided); }

// gt_setup makes errors on MPI_COMM_WORLD return instead of aborting, and finds the
// rank, the size and the node-local rank and size.
static int gt_setup(int *rank, int *size, int *lrank, int *lsize) {
	int r = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	if (r != MPI_SUCCESS) return r;
	if ((r = MPI_Comm_rank(MPI_COMM_WORLD, rank)) != MPI_SUCCESS) return r;
	if ((r = MPI_Comm_size(MPI_COMM_WORLD, size)) != MPI_SUCCESS) return r;
	MPI_Comm node;
	if ((r = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, *rank, MPI_INFO_NULL, &node)) != MPI_SUCCESS) return r;
	MPI_Comm_rank(node, lrank);
	MPI_Comm_size(node, lsize);
	return MPI_Comm_free(&node);
}

static int gt_allreduce_f32(float *p, long long n) {
	for (; n > 0; p += GT_PIECE, n -= GT_PIECE) {
		int r = MPI_Allreduce(MPI_IN_PLACE, p, n < GT_PIECE ? (int)n : (int)GT_PIECE, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		if (r != MPI_SUCCESS) return r;
	}
	return MPI_SUCCESS;
}

static int gt_bcast_f32(float *p, long long n, int root) {
	for (; n > 0; p += GT_PIECE, n -= GT_PIECE) {
		int r = MPI_Bcast(p, n < GT_PIECE ? (int)n : (int)GT_PIECE, MPI_FLOAT, root, MPI_COMM_WORLD);
		if (r != MPI_SUCCESS) return r;
	}
	return MPI_SUCCESS;
}

static int gt_allgather_ll(long long *mine, long long *all) {
	return MPI_Allgather(mine, 1, MPI_LONG_LONG, all, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
}

static int gt_allgatherv(void *mine, int n, void *all, int *counts, int *displs) {
	return MPI_Allgatherv(mine, n, MPI_BYTE, all, counts, displs, MPI_BYTE, MPI_COMM_WORLD);
}

static int gt_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int gt_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static int gt_finalize(void) { return MPI_Finalize(); }

static void gt_error_string(int code, char *s, int cap) {
	int n = 0;
	if (MPI_Error_string(code, s, &n) != MPI_SUCCESS || n <= 0) n = 0;
	s[n < cap ? n : cap - 1] = 0;
}

static void gt_library(char *s, int cap) {
	int n = 0;
	MPI_Get_library_version(s, &n);
	s[n < cap ? n : cap - 1] = 0;
}

static int gt_mpi_string_cap(void) { return MPI_MAX_ERROR_STRING > MPI_MAX_LIBRARY_VERSION_STRING ? MPI_MAX_ERROR_STRING : MPI_MAX_LIBRARY_VERSION_STRING; }
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gputrain/gputrain/device"
)

func init() {
	Register("mpi", func(dev device.Backend) (Comm, error) { return OpenMPI(dev) })
}

// world is the process's one MPI session: MPI can be initialised once and finalised once.
var world struct {
	sync.Mutex
	started, finalized bool
	users              int
	rank, size         int
	lrank, lsize       int
	library            string
	me                 peer
	peers              []peer       // every rank's host and process id, for naming a lost rank
	inCall             atomic.Int64 // when the MPI call in progress started (UnixNano); 0 between calls
	inCallOp           atomic.Int32 // which call (an mpiOp)
	stopWatch          chan struct{}
}

// mpiOp names an MPI call for errors and for the watch on lost ranks, without
// allocating.
type mpiOp int32

const (
	opAllreduce mpiOp = iota
	opBcast
	opAllgather
	opAllgatherv
	opBarrier
	opFinalize
)

var opNames = [...]string{"MPI_Allreduce", "MPI_Bcast", "MPI_Allgather", "MPI_Allgatherv", "MPI_Barrier", "MPI_Finalize"}

func (op mpiOp) String() string { return opNames[op] }

// MPI is the mpi kind of Comm (OpenMPI, or Open("mpi", dev)).
type MPI struct {
	dev    device.Backend
	mem    device.HostMemory // dev, where its buffers are host memory (cpu): no staging
	stage  []float32         // host copy of a device buffer, grown to the longest one seen
	closed bool
}

var _ Comm = (*MPI)(nil)

// OpenMPI joins MPI_COMM_WORLD, starting MPI in this process on first use (later calls
// share it; each Comm is closed separately and the last Close finalises MPI). The
// buffers of a backend whose memory is host memory (device.HostMemory: cpu) go to MPI
// as they are; any other backend's are staged through host memory: ReadFloat32, the
// MPI call on the host copy, WriteFloat32.
func OpenMPI(dev device.Backend) (*MPI, error) {
	world.Lock()
	defer world.Unlock()
	if world.finalized {
		return nil, errors.New("MPI was finalized in this process; it cannot be started again")
	}
	if !world.started {
		if err := startMPI(); err != nil {
			return nil, err
		}
	}
	world.users++
	mem, _ := dev.(device.HostMemory)
	return &MPI{dev: dev, mem: mem}, nil
}

// startMPI initialises MPI with the caller holding world's lock.
func startMPI() error {
	if C.gt_initialized() != 0 {
		return errors.New("MPI was initialised in this process by other code")
	}
	var provided C.int
	if r := C.gt_init(&provided); r != C.MPI_SUCCESS {
		return mpiErr("MPI_Init_thread", r)
	}
	if provided < C.MPI_THREAD_SERIALIZED {
		// The Go runtime may make successive calls from different OS threads.
		return fmt.Errorf("MPI provides thread level %d, less than MPI_THREAD_SERIALIZED", int(provided))
	}
	var rank, size, lrank, lsize C.int
	if r := C.gt_setup(&rank, &size, &lrank, &lsize); r != C.MPI_SUCCESS {
		return mpiErr("setting up MPI_COMM_WORLD", r)
	}
	world.rank, world.size = int(rank), int(size)
	world.lrank, world.lsize = int(lrank), int(lsize)
	cap := C.gt_mpi_string_cap()
	s := (*C.char)(C.malloc(C.size_t(cap)))
	C.gt_library(s, cap)
	world.library = strings.TrimSpace(strings.SplitN(C.GoString(s), ",", 2)[0])
	C.free(unsafe.Pointer(s))

	if l := Detect(); l.Launcher != "" && l.Size != world.size {
		// e.g. srun without --mpi=pmix: every process is a world of its own
		return fmt.Errorf("%s started %d processes, but MPI sees %d in MPI_COMM_WORLD (under Slurm: srun --mpi=pmix)", l.Launcher, l.Size, world.size)
	}
	if err := exchangePeers(); err != nil {
		return err
	}
	watchTermination()
	keepTwoPs()
	world.started = true
	return nil
}

// keepTwoPs gives the Go scheduler at least two Ps. A rank bound to one core (mpirun's
// default binding for up to 2 ranks, srun --cpu-bind) starts with GOMAXPROCS=1; then
// every blocking MPI call that lasts over 20 µs (a rank waiting for a slower one) lets
// the runtime's monitor retake the only P, and the monitor goes on waking every 20 µs,
// preempting the rank's compute on its one core, for as long as such calls keep coming:
// the reference job with 2 ranks fell from 1.3–1.4× one rank's examples/s to 0.9× (bound
// to a core each: 128–141k examples/s; GOMAXPROCS=2: 181–202k; one rank: 142–148k;
// docs/perf.md). With a second, idle P the monitor leaves a P in an MPI call alone (up to
// 10 ms). The second P costs nothing while it has no goroutine to run; the cpu
// backend's thread count (runtime.NumCPU) is unchanged.
func keepTwoPs() {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
}

func mpiErr(call string, code C.int) error {
	cap := C.gt_mpi_string_cap()
	s := (*C.char)(C.malloc(C.size_t(cap)))
	defer C.free(unsafe.Pointer(s))
	C.gt_error_string(code, s, cap)
	return fmt.Errorf("%s: %s (MPI error %d)", call, C.GoString(s), int(code))
}

// Kind implements Comm.
func (c *MPI) Kind() string { return "mpi" }

// Describe implements Comm.
func (c *MPI) Describe() string {
	return fmt.Sprintf("mpi: rank %d of %d, %s, %d ranks on this machine", world.rank, world.size, world.library, world.lsize)
}

// Rank implements Comm.
func (c *MPI) Rank() int { return world.rank }

// Size implements Comm.
func (c *MPI) Size() int { return world.size }

// LocalRank implements Comm.
func (c *MPI) LocalRank() int { return world.lrank }

// LocalSize implements Comm.
func (c *MPI) LocalSize() int { return world.lsize }

// Device implements Comm.
func (c *MPI) Device() device.Backend { return c.dev }

// call runs one MPI call under world's lock (MPI_THREAD_SERIALIZED), on an open Comm.
func (c *MPI) call(op mpiOp, fn func() C.int) error {
	world.Lock()
	defer world.Unlock()
	if c.closed {
		return fmt.Errorf("comm: mpi: %s on a closed communicator", op)
	}
	if err := run(op, fn); err != nil {
		return fmt.Errorf("comm: mpi: %w", err)
	}
	return nil
}

// run makes one MPI call, the caller holding world's lock, and notes it for the watch
// on lost ranks while it is in progress.
func run(op mpiOp, fn func() C.int) error {
	world.inCallOp.Store(int32(op))
	world.inCall.Store(time.Now().UnixNano())
	r := fn()
	world.inCall.Store(0)
	if r != C.MPI_SUCCESS {
		return mpiErr(op.String(), r)
	}
	return nil
}

// host returns the staging slice for n elements, grown once to the longest buffer.
func (c *MPI) host(n int) []float32 {
	if cap(c.stage) < n {
		c.stage = make([]float32, n)
	}
	return c.stage[:n]
}

// AllReduceSum implements Comm: MPI_Allreduce(MPI_IN_PLACE, MPI_SUM) on the buffer's
// memory, or on a host copy (ReadFloat32 before, WriteFloat32 after).
func (c *MPI) AllReduceSum(buf device.Buffer) error {
	if err := CheckFloat32("all-reduce", buf); err != nil {
		return err
	}
	n := buf.Len()
	if n == 0 {
		return nil
	}
	if c.mem != nil {
		p, err := c.mem.HostFloat32(buf)
		if err != nil {
			return fmt.Errorf("comm: mpi all-reduce: %w", err)
		}
		return c.AllReduceSumHost(p)
	}
	h := c.host(n)
	if err := c.dev.ReadFloat32(h, buf); err != nil {
		return fmt.Errorf("comm: mpi all-reduce: %w", err)
	}
	if err := c.AllReduceSumHost(h); err != nil {
		return err
	}
	return c.dev.WriteFloat32(buf, h)
}

// AllReduceSumHost is AllReduceSum on host memory: p[i] = sum over ranks of p[i], in
// place (MPI_Allreduce with MPI_IN_PLACE, MPI_FLOAT, MPI_SUM).
func (c *MPI) AllReduceSumHost(p []float32) error {
	if len(p) == 0 {
		return nil
	}
	return c.call(opAllreduce, func() C.int { return C.gt_allreduce_f32((*C.float)(&p[0]), C.longlong(len(p))) })
}

// Broadcast implements Comm: MPI_Bcast on the buffer's memory, or on a host copy that
// root reads from buf and the others write to it.
func (c *MPI) Broadcast(buf device.Buffer, root int) error {
	if err := CheckFloat32("broadcast", buf); err != nil {
		return err
	}
	if err := CheckRoot("broadcast", root, world.size); err != nil {
		return err
	}
	n := buf.Len()
	if n == 0 {
		return nil
	}
	bcast := func(h []float32) error {
		return c.call(opBcast, func() C.int { return C.gt_bcast_f32((*C.float)(&h[0]), C.longlong(n), C.int(root)) })
	}
	if c.mem != nil {
		p, err := c.mem.HostFloat32(buf)
		if err != nil {
			return fmt.Errorf("comm: mpi broadcast: %w", err)
		}
		return bcast(p)
	}
	h := c.host(n)
	if world.rank == root {
		if err := c.dev.ReadFloat32(h, buf); err != nil {
			return fmt.Errorf("comm: mpi broadcast: %w", err)
		}
	}
	if err := bcast(h); err != nil || world.rank == root {
		return err
	}
	return c.dev.WriteFloat32(buf, h)
}

// AllGather implements Comm (MPI_Allgather of the lengths, then MPI_Allgatherv).
func (c *MPI) AllGather(p []byte) ([][]byte, error) {
	world.Lock()
	defer world.Unlock()
	if c.closed {
		return nil, errors.New("comm: mpi: MPI_Allgather on a closed communicator")
	}
	all, err := allGather(p)
	if err != nil {
		return nil, fmt.Errorf("comm: mpi: %w", err)
	}
	return all, nil
}

// allGather is AllGather with world's lock held.
func allGather(p []byte) ([][]byte, error) {
	lens := make([]C.longlong, world.size)
	mine := C.longlong(len(p))
	if err := run(opAllgather, func() C.int { return C.gt_allgather_ll(&mine, &lens[0]) }); err != nil {
		return nil, err
	}
	counts := make([]C.int, world.size)
	displs := make([]C.int, world.size)
	total := 0
	for r, n := range lens {
		if n < 0 || int64(total)+int64(n) > math.MaxInt32 {
			return nil, fmt.Errorf("all-gather: %d bytes from rank %d make more than 2 GiB in all", n, r)
		}
		counts[r], displs[r] = C.int(n), C.int(total)
		total += int(n)
	}
	all := make([]byte, total+1) // +1: a valid address when every rank sends nothing
	src := append(p[:len(p):len(p)], 0)
	err := run(opAllgatherv, func() C.int {
		return C.gt_allgatherv(unsafe.Pointer(&src[0]), C.int(len(p)), unsafe.Pointer(&all[0]), &counts[0], &displs[0])
	})
	if err != nil {
		return nil, err
	}
	out := make([][]byte, world.size)
	for r := range out {
		out[r] = all[displs[r] : displs[r]+counts[r] : displs[r]+counts[r]]
	}
	return out, nil
}

// Barrier implements Comm.
func (c *MPI) Barrier() error {
	return c.call(opBarrier, func() C.int { return C.gt_barrier() })
}

// Abort implements Comm: MPI_Abort on MPI_COMM_WORLD, which the launcher turns into the
// end of every rank.
func (c *MPI) Abort(code int) {
	C.gt_abort(C.int(code))
	os.Exit(code)
}

// Close implements Comm; the last open MPI Comm of the process finalises MPI.
func (c *MPI) Close() error {
	world.Lock()
	defer world.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	world.users--
	if world.users > 0 {
		return nil
	}
	world.finalized = true
	err := run(opFinalize, func() C.int { return C.gt_finalize() })
	stopWatching()
	if err != nil {
		return fmt.Errorf("comm: mpi: %w", err)
	}
	return nil
}

// exchangePeers gathers every rank's host, pid namespace and pid (world's lock held).
func exchangePeers() error {
	world.me = self()
	all, err := allGather([]byte(world.me.String()))
	if err != nil {
		return err
	}
	world.peers = make([]peer, len(all))
	for r, b := range all {
		if world.peers[r], err = parsePeer(string(b)); err != nil {
			return fmt.Errorf("rank %d: %w", r, err)
		}
	}
	return nil
}

// Lost ranks. When a rank dies, the launcher ends the others: Open MPI's mpirun sends
// the survivors SIGCONT, then SIGTERM a second later, then SIGKILL, and prints which
// rank it lost. Each surviving rank adds its own line naming the ranks on its machine
// that it found ended, as soon as it sees them and before the other survivors start to
// exit (they would look lost too):
//   - while an MPI call waits, every watchEvery, with kill(pid, 0) (no allocation);
//   - on SIGCONT (the launcher's first step), also counting zombies; if a rank has
//     ended it says so at once (the second before SIGTERM leaves time to write it);
//   - on SIGTERM it exits with status 143 (128+15, what SIGTERM's default gives), saying
//     why unless it already did;
//   - when an MPI call has waited lostAfter and a rank on its machine has ended, it
//     says so and exits with status 1 without waiting for the launcher (srun without
//     --kill-on-bad-exit, or a launcher that does not end the others at all, would
//     leave it waiting forever).
// Ranks on other machines (or in other pid namespaces) cannot be checked from here; their
// loss reaches this rank as the launcher's SIGTERM or as an MPI error.

const (
	lostAfter  = 2 * time.Second
	watchEvery = 250 * time.Millisecond
)

// watchTermination starts the signal handler and the watch on same-machine ranks.
func watchTermination() {
	world.stopWatch = make(chan struct{})
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGCONT)
	tick := time.NewTicker(watchEvery)
	say := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "comm: rank %d of %d: "+format+"\n", append([]any{world.rank, world.size}, args...)...)
	}
	go func(stop chan struct{}) {
		defer tick.Stop()
		defer signal.Stop(sig)
		var seen []int // the ranks first found ended
		said := false
		look := func(zombies bool) {
			if seen == nil {
				if lost := lostRanks(world.peers, world.me, zombies); len(lost) > 0 {
					seen = lost
				}
			}
		}
		for {
			select {
			case <-stop:
				return
			case s := <-sig:
				look(true)
				if s == syscall.SIGCONT {
					if seen != nil && !said {
						say("%s has ended; the launcher is stopping the job", describeLost(world.peers, seen))
						said = true
					}
					continue
				}
				switch {
				case said:
					say("stopped by SIGTERM from the launcher")
				case seen != nil:
					say("stopped by SIGTERM from the launcher; %s ended first", describeLost(world.peers, seen))
				default:
					say("stopped by SIGTERM from the launcher; the other ranks on this machine are running (a rank elsewhere failed, or the job was cancelled)")
				}
				os.Exit(128 + int(syscall.SIGTERM))
			case <-tick.C:
				since := world.inCall.Load()
				if since == 0 {
					continue
				}
				waited := time.Since(time.Unix(0, since)) >= lostAfter
				look(waited) // zombies (which allocates) only once the call is overdue
				if waited && seen != nil {
					say("%s has ended while this rank waits for it in %s; exiting", describeLost(world.peers, seen), mpiOp(world.inCallOp.Load()))
					os.Exit(1)
				}
			}
		}
	}(world.stopWatch)
}

// stopWatching ends the watch (after MPI_Finalize, world's lock held).
func stopWatching() {
	if world.stopWatch != nil {
		close(world.stopWatch)
		world.stopWatch = nil
	}
}
