#!/bin/sh
# comm-check.sh: the tests of device/comm's mpi kind and of the NCCL binding that need
# no GPU (make comm-check; CI runs it). Needs Open MPI (Debian: openmpi-bin and
# libopenmpi-dev; .ci/run installs them), cgo, and pip for the NCCL wheel.
#
#  1. go vet -tags mpi ./device/...
#  2. go test -tags mpi ./device/comm: the collectives on cpu buffers under mpirun -np 2
#     and -np 3 --oversubscribe, the disagreement, Abort, and a rank killed with SIGKILL
#     (the survivors exit non-zero naming it, no hang; the last checkpoint is whole)
#  3. go test -tags mpi -run '^TestDist' ./cmd/gputrain: gputrain -dist under mpirun on
#     MNIST (make data): 2 ranks x 16 = 1 process x 32 for 200 steps (losses and weights
#     within 1e-5 relative), resumed with 2 ranks, refused by 1; 3 ranks with an uneven
#     last batch; a rank SIGKILLed mid-training (the others exit non-zero, no hang,
#     naming it, the last checkpoint whole); SIGINT to one rank (every rank stops at the
#     same step, rank 0 saves, exit 130, resumed); SIGUSR1 to rank 0 (it saves, the
#     job trains on) then SIGTERM to every rank (each ends at once, 143); ranks that
#     disagree or cannot start (exit 2); a -max-memory that one process fits in and
#     two ranks on the machine do not (exit 2)
#  4. libnccl.so.2 from NVIDIA's wheel (fetch-nccl.sh), then go test -tags cuda
#     ./device/cuda/nccl: load it with dlopen, read its version and make unique ids
#
# A missing mpirun or NCCL is a failure here (GPUTRAIN_REQUIRE_MPI=1, GPUTRAIN_REQUIRE_NCCL=1),
# not a skip. As root, the tests pass OMPI_ALLOW_RUN_AS_ROOT* to the mpirun they start.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/internal/cudabuild/env.sh"
cd "$ROOT"
t0=$(date +%s)
step() { echo "comm-check: [$(( $(date +%s) - t0 ))s] $*"; }

if ! command -v mpirun >/dev/null || ! pkg-config --exists ompi-c; then
  echo "comm-check: Open MPI is missing (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)" >&2
  exit 1
fi
export CGO_ENABLED=1
step "$(mpirun --version 2>/dev/null | head -n 1)"
step "go vet -tags mpi ./device/... ./cmd/..."
go vet -tags mpi ./device/... ./cmd/...
step "go test -tags mpi ./device/comm"
GPUTRAIN_REQUIRE_MPI=1 go test -tags mpi -count=1 -timeout 10m -v ./device/comm
step "go test -tags mpi -run '^TestDist' ./cmd/gputrain (gputrain -dist under mpirun; MNIST from make data)"
make -s data
GPUTRAIN_REQUIRE_MPI=1 go test -tags mpi -count=1 -timeout 10m -run '^TestDist' -v ./cmd/gputrain

step "NCCL ($NCCL_WHEEL)"
lib=$(sh internal/cudabuild/fetch-nccl.sh | tail -n 1)
step "go test -tags cuda ./device/cuda/nccl (GPUTRAIN_NCCL_LIB=$lib)"
GPUTRAIN_NCCL_LIB=$lib GPUTRAIN_REQUIRE_NCCL=1 GPUTRAIN_NCCL_VERSION=${NCCL_WHEEL##*==} \
  go test -tags cuda -count=1 -v ./device/cuda/nccl
step "ok"
