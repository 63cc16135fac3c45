package comm_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
)

// launcherVars are every variable Detect reads.
var launcherVars = []string{
	"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
	"SLURM_STEP_ID", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID", "SLURM_NTASKS",
	"PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID",
}

// setLaunch unsets every launcher variable, then sets env ("NAME=value"), for the test.
func setLaunch(t *testing.T, env ...string) {
	t.Helper()
	for _, k := range launcherVars {
		t.Setenv(k, "") // restores the old value after the test
		os.Unsetenv(k)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func TestDetect(t *testing.T) {
	none := comm.Launch{Rank: 0, Size: 1}
	cases := []struct {
		name string
		env  []string
		want comm.Launch
	}{
		{"no launcher", nil, none},
		{"mpirun", []string{"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=3", "OMPI_COMM_WORLD_LOCAL_RANK=1"},
			comm.Launch{Launcher: "mpirun", Rank: 1, Size: 3, LocalRank: 1}},
		{"mpirun -np 1", []string{"OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_SIZE=1"},
			comm.Launch{Launcher: "mpirun", Rank: 0, Size: 1}},
		{"srun step", []string{"SLURM_STEP_ID=0", "SLURM_PROCID=5", "SLURM_STEP_NUM_TASKS=8", "SLURM_LOCALID=1", "SLURM_NTASKS=8"},
			comm.Launch{Launcher: "srun", Rank: 5, Size: 8, LocalRank: 1}},
		// an sbatch script's own shell has SLURM_PROCID and SLURM_NTASKS but no step
		{"sbatch script, no srun", []string{"SLURM_PROCID=0", "SLURM_NTASKS=8"}, none},
		{"hydra", []string{"PMI_RANK=2", "PMI_SIZE=4", "MPI_LOCALRANKID=0"},
			comm.Launch{Launcher: "hydra", Rank: 2, Size: 4}},
		{"malformed size", []string{"OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_SIZE=two"}, none},
		{"rank past size", []string{"OMPI_COMM_WORLD_RANK=3", "OMPI_COMM_WORLD_SIZE=3"}, none},
		{"negative rank", []string{"PMI_RANK=-1", "PMI_SIZE=2"}, none},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setLaunch(t, c.env...)
			if got := comm.Detect(); got != c.want {
				t.Errorf("Detect() = %+v, want %+v", got, c.want)
			}
		})
	}
}

// The local kind is the identity: the sum over one rank is the rank's buffer.
func TestLocal(t *testing.T) {
	setLaunch(t)
	dev := cpu.New(cpu.Options{Threads: 1})
	for _, kind := range []string{"local", "auto"} {
		c, err := comm.Open(kind, dev)
		if err != nil {
			t.Fatalf("Open(%q): %v", kind, err)
		}
		if c.Kind() != "local" || c.Rank() != 0 || c.Size() != 1 || c.LocalRank() != 0 || c.LocalSize() != 1 || c.Device() != dev {
			t.Fatalf("Open(%q): kind %s, rank %d of %d, local %d of %d", kind, c.Kind(), c.Rank(), c.Size(), c.LocalRank(), c.LocalSize())
		}
		want := []float32{1.5, -2, 3e-8, 4e30}
		buf, _ := dev.Alloc(device.Float32, len(want))
		must(t, dev.WriteFloat32(buf, want))
		must(t, c.AllReduceSum(buf))
		must(t, c.Broadcast(buf, 0))
		got := make([]float32, len(want))
		must(t, dev.ReadFloat32(got, buf))
		if !slices.Equal(got, want) {
			t.Errorf("after all-reduce and broadcast: %v, want %v", got, want)
		}
		all, err := c.AllGather([]byte("abc"))
		if err != nil || len(all) != 1 || string(all[0]) != "abc" {
			t.Errorf("AllGather: %q, %v", all, err)
		}
		must(t, comm.Agree(c, "the model", "mlp"))
		must(t, c.Barrier())
		must(t, c.Close())
	}
}

// Bad arguments read the same on every kind (CheckFloat32, CheckRoot).
func TestCollectiveErrors(t *testing.T) {
	setLaunch(t)
	dev := cpu.New(cpu.Options{Threads: 1})
	c, err := comm.Open("local", dev)
	if err != nil {
		t.Fatal(err)
	}
	ints, _ := dev.Alloc(device.Int32, 3)
	f, _ := dev.Alloc(device.Float32, 3)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{c.AllReduceSum(nil), "comm: all-reduce: the buffer is nil"},
		{c.AllReduceSum(ints), "comm: all-reduce: the buffer is int32, want float32"},
		{c.Broadcast(ints, 0), "comm: broadcast: the buffer is int32, want float32"},
		{c.Broadcast(f, 1), "comm: broadcast: root 1 is not a rank (size 1)"},
		{c.Broadcast(f, -1), "comm: broadcast: root -1 is not a rank (size 1)"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error %v, want %q", tc.err, tc.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	setLaunch(t)
	dev := cpu.New(cpu.Options{Threads: 1})
	if _, err := comm.Open("gloo", dev); err == nil || !strings.Contains(err.Error(), `comm: unknown kind "gloo" (registered: `) ||
		!strings.Contains(err.Error(), "local, mpi") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := comm.Open("local", nil); err == nil || err.Error() != "comm: open: the device backend is nil" {
		t.Errorf("nil device: %v", err)
	}
	// N processes of one job must not each train alone
	setLaunch(t, "OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2")
	_, err := comm.Open("local", dev)
	if want := "comm: cannot open local (started by mpirun as rank 1 of 2): mpirun started 2 processes, but local joins none of them (use mpi, nccl or auto)"; err == nil || err.Error() != want {
		t.Errorf("local under mpirun -np 2:\n got %v\nwant %s", err, want)
	}
}

// fake is a Comm whose AllGather returns fixed values, for Agree's logic.
type fake struct {
	comm.Comm
	values []string
	err    error
}

func (f *fake) Size() int { return len(f.values) }
func (f *fake) AllGather([]byte) ([][]byte, error) {
	out := make([][]byte, len(f.values))
	for i, v := range f.values {
		out[i] = []byte(v)
	}
	return out, f.err
}

func TestAgree(t *testing.T) {
	for _, tc := range []struct {
		values []string
		err    error
		want   string
	}{
		{[]string{"32", "32", "32"}, nil, ""},
		{[]string{"32", "32", "64", "16"}, nil, `comm: ranks disagree on the batch size: rank 0 has "32", rank 2 has "64"`},
		{[]string{"", "x"}, nil, `comm: ranks disagree on the batch size: rank 0 has "", rank 1 has "x"`},
		{[]string{"32"}, errors.New("MPI_Allgather: boom"), "comm: checking the batch size across ranks: MPI_Allgather: boom"},
	} {
		got := ""
		if err := comm.Agree(&fake{values: tc.values, err: tc.err}, "the batch size", "32"); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%q: error %q, want %q", tc.values, got, tc.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
