// Package comm joins the processes of a data-parallel job: the same program launched N
// times (by mpirun, srun or the Kubernetes MPI Operator), each process a rank with its
// own device, summing gradients between ranks once per step. docs/distributed.md shows
// how to build and launch it.
//
// It adds no network code: a Comm is a thin layer over existing engines.
//
//	kind    joins ranks with             sums buffers of                 built with
//	local   nothing: one process         any backend (the identity)      always (no cgo)
//	mpi     Open MPI, MPI_COMM_WORLD     any backend: host memory as it  -tags mpi (cgo,
//	                                     is (cpu), others via a copy     pkg-config ompi-c)
//	nccl    NCCL; its unique id over     CUDA buffers, on the backend's  -tags "cuda mpi"
//	        MPI (without a launcher:     stream (package device/cuda;    (libnccl.so.2 loaded
//	        one rank, no MPI)            device/cuda/nccl)               at run time)
//
// Open("auto", dev) picks local when no launcher started this process (see Detect), and
// under one nccl on the cuda backend and mpi on any other. A kind that this binary was
// built without is registered anyway and says why it cannot open ("this binary was built
// without MPI support (build with -tags mpi; …)"), and local refuses to be one of N
// launched processes, so a job launched N times never trains N separate models.
//
// The collectives a data-parallel trainer needs:
//
//	AllReduceSum(buf)       buf = sum over ranks of buf, float32, in place
//	Broadcast(buf, root)    buf = root's buf, float32, in place
//	AllGather(p)            every rank's bytes, in rank order (start-up checks: Agree)
//	Barrier()               wait for every rank
//	Abort(code)             end every rank of the job now
//
// Every rank calls the collectives in the same order with buffers of the same length. A
// length mismatch is not detected by the engines (it hangs or corrupts), so a trainer
// checks its configuration across ranks at start with Agree (AgreeAll: several settings
// in one all-gather; both errors wrap ErrDisagree).
//
// NewGroup makes the Comms of a job whose ranks are goroutines of one process (kind
// "group", not in the registry): data-parallel code, such as train.Trainer's, runs and is
// tested with it without a launcher or MPI.
//
// Open MPI's and NCCL's sums give every rank the same bits, and the same from run to run
// for a given number of ranks and length (the tests check Open MPI's with 2 and 3 ranks
// from 1 to 812,288 elements; MPI does not promise it in general). The order of the
// additions differs from a sequential sum, so the result matches one process's sum only
// to rounding.
//
// A Comm is not safe for concurrent use; like a device.Backend it may be used from any
// goroutine, one at a time. A rank that dies (SIGKILL, a crash, a lost machine) ends the
// job: the launcher stops the other ranks and names the lost one, and each surviving rank
// names, on standard error, the ranks on its machine it found ended (mpi.go).
package comm
