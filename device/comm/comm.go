package comm

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gputrain/gputrain/device"
)

// Comm is one rank's handle on the job's processes. It is bound to one device backend:
// the buffers its collectives take are that backend's. See the package documentation.
type Comm interface {
	// Kind is the implementation: "local", "mpi" or "nccl".
	Kind() string
	// Describe says what joins the ranks, in words, for logs
	// ("mpi: rank 0 of 2, Open MPI v4.1.4, 2 ranks on this machine").
	Describe() string
	// Rank is this process's number in [0, Size).
	Rank() int
	// Size is the number of processes in the job.
	Size() int
	// LocalRank is this process's number among the job's processes on this machine, in
	// [0, LocalSize): the GPU ordinal a rank uses when each machine's ranks share its GPUs.
	LocalRank() int
	// LocalSize is the number of the job's processes on this machine.
	LocalSize() int
	// Device is the backend whose buffers the collectives take.
	Device() device.Backend

	// AllReduceSum replaces buf (float32, on Device) on every rank by the elementwise sum
	// of buf over all ranks: buf[i] = sum over r of buf_r[i]. Every rank passes a buffer
	// of the same length; every rank gets the same result (see the package
	// documentation). On a backend that queues work (cuda), the nccl kind queues the sum
	// on the backend's stream and returns; the mpi kind reads buf to the host, which
	// waits for the queued ops. Call it between Backend.Step calls there: inside one, the
	// step's recording ends at the collective. It allocates nothing once a buffer of its
	// length has been summed.
	AllReduceSum(buf device.Buffer) error
	// Broadcast replaces buf (float32, on Device) on every rank by root's buf.
	Broadcast(buf device.Buffer, root int) error
	// AllGather returns every rank's p, indexed by rank; the lengths may differ. It is
	// meant for start-up checks (see Agree), not for the training step.
	AllGather(p []byte) ([][]byte, error)
	// Barrier returns once every rank has called it.
	Barrier() error
	// Abort ends every process of the job with exit status code (as far as the launcher
	// passes it on) and does not return.
	Abort(code int)
	// Close releases the communicator (MPI_Finalize for mpi and nccl: MPI cannot be
	// started again in this process). Every rank calls it; it does not close Device.
	Close() error
}

// Opener makes a Comm of one kind on dev. It returns an error when that kind cannot run
// here (not compiled in, no launcher, a library missing).
type Opener func(dev device.Backend) (Comm, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Opener{}
)

// ErrNoMPI is what opening mpi (or nccl, which starts through MPI) gives in a binary
// built without the mpi tag.
var ErrNoMPI = errors.New("this binary was built without MPI support (build with -tags mpi; it needs Open MPI's libopenmpi-dev)")

// Register makes a kind of Comm available to Open. It panics if kind is taken or is
// "auto": that is a programming error in an implementation's init.
func Register(kind string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if kind == "auto" || kind == "" {
		panic(fmt.Sprintf("comm: Register: reserved kind %q", kind))
	}
	if _, ok := registry[kind]; ok {
		panic("comm: Register: kind " + kind + " registered twice")
	}
	registry[kind] = open
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	kinds := make([]string, 0, len(registry))
	for k := range registry {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

func init() {
	Register("local", openLocal)
}

// Open returns a Comm of the given kind bound to dev. "auto" picks local when no launcher
// started this process (see Detect), and otherwise nccl on the cuda backend and mpi on
// any other. Its errors name the kind, the launcher and why the kind cannot open.
func Open(kind string, dev device.Backend) (Comm, error) {
	if dev == nil {
		return nil, errors.New("comm: open: the device backend is nil")
	}
	l := Detect()
	if kind == "auto" {
		switch {
		case l.Launcher == "":
			kind = "local"
		case dev.Name() == "cuda":
			kind = "nccl"
		default:
			kind = "mpi"
		}
	}
	registryMu.Lock()
	open, ok := registry[kind]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("comm: unknown kind %q (registered: %s, or auto)", kind, strings.Join(Kinds(), ", "))
	}
	c, err := open(dev)
	if err != nil {
		if l.Launcher != "" {
			return nil, fmt.Errorf("comm: cannot open %s (started by %s as rank %d of %d): %w", kind, l.Launcher, l.Rank, l.Size, err)
		}
		return nil, fmt.Errorf("comm: cannot open %s: %w", kind, err)
	}
	return c, nil
}

// Launch is what the environment says about how this process was started.
type Launch struct {
	// Launcher is "mpirun" (Open MPI's mpirun or mpiexec, also under the Kubernetes MPI
	// Operator), "srun" (a Slurm job step), "hydra" (MPICH's mpiexec), or "" when no
	// launcher started this process.
	Launcher string
	// Rank and Size are the launcher's rank of this process and number of processes
	// (0 and 1 without a launcher).
	Rank, Size int
	// LocalRank is the rank among the job's processes on this machine (0 without a
	// launcher): the GPU ordinal to open before the Comm exists.
	LocalRank int
}

// Detect reads the launcher's environment variables: OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK}
// (Open MPI), SLURM_PROCID, SLURM_STEP_NUM_TASKS and SLURM_LOCALID in a job step (srun;
// a batch script that was not started by srun has no step, so it is not a launch),
// PMI_RANK, PMI_SIZE and MPI_LOCALRANKID (MPICH's Hydra). A variable that is set but not
// a number counts as absent.
func Detect() Launch {
	num := func(name string) (int, bool) {
		v, ok := os.LookupEnv(name)
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil && n >= 0
	}
	try := func(launcher, rank, size, local string) (Launch, bool) {
		r, ok1 := num(rank)
		s, ok2 := num(size)
		if !ok1 || !ok2 || s < 1 || r >= s {
			return Launch{}, false
		}
		lr, _ := num(local)
		return Launch{Launcher: launcher, Rank: r, Size: s, LocalRank: lr}, true
	}
	if l, ok := try("mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"); ok {
		return l
	}
	if _, step := os.LookupEnv("SLURM_STEP_ID"); step {
		if l, ok := try("srun", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID"); ok {
			return l
		}
	}
	if l, ok := try("hydra", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"); ok {
		return l
	}
	return Launch{Rank: 0, Size: 1}
}

// CheckFloat32 validates a collective's buffer: not nil, float32. Every kind calls it
// first, so the same mistake reads the same on every kind.
func CheckFloat32(op string, buf device.Buffer) error {
	if buf == nil {
		return fmt.Errorf("comm: %s: the buffer is nil", op)
	}
	if buf.DType() != device.Float32 {
		return fmt.Errorf("comm: %s: the buffer is %s, want float32", op, buf.DType())
	}
	return nil
}

// CheckRoot validates a broadcast's root against the number of ranks.
func CheckRoot(op string, root, size int) error {
	if root < 0 || root >= size {
		return fmt.Errorf("comm: %s: root %d is not a rank (size %d)", op, root, size)
	}
	return nil
}
