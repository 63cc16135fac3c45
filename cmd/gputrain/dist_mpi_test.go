//go:build mpi

package main

// gputrain -dist under mpirun (make comm-check; CI). The test binary is the program:
// with GPUTRAIN_TEST_AS_GPUTRAIN=1, TestMain runs gputrain's main with the arguments
// after the binary's name, so that mpirun starts this binary as the ranks. The
// single-process runs that the jobs are compared with run in this process (run).
// Without mpirun the tests skip (GPUTRAIN_REQUIRE_MPI=1 makes that a failure). As root,
// mpirun needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; the tests set
// them, and pass --oversubscribe (more ranks than cores) and, unless set,
// OMPI_MCA_btl_vader_single_copy_mechanism=none (containers without CAP_SYS_PTRACE).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/train/checkpoint"
)

func TestMain(m *testing.M) {
	if os.Getenv("GPUTRAIN_TEST_AS_GPUTRAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// mpiJob is what an mpirun run left.
type mpiJob struct {
	out     string
	code    int
	elapsed time.Duration
}

// distArgs are the flags every run of these tests shares: the reference job (MNIST,
// the 784-128-64-10 MLP, Adam) on 1-thread cpu ranks, quietly.
func distArgs(extra ...string) []string {
	return append([]string{"-device", "cpu", "-threads", "1", "-data", mnistDir, "-progress", "off"}, extra...)
}

// startMPI starts `mpirun <mpiArgs> <this binary as gputrain> …`: programs holds one
// argument list per MPMD part ("-np N args…" each), joined by ":". The job's processes
// carry GPUTRAIN_TEST_JOB=tag so that a test can find them.
func startMPI(t *testing.T, tag string, parts ...[]string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	path, err := exec.LookPath("mpirun")
	if err != nil {
		if os.Getenv("GPUTRAIN_REQUIRE_MPI") == "1" {
			t.Fatalf("mpirun not found: %v", err)
		}
		t.Skipf("mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev; GPUTRAIN_REQUIRE_MPI=1 makes this a failure): %v", err)
	}
	if _, err := os.Stat(filepath.Join(mnistDir, "train-images-idx3-ubyte.gz")); err != nil {
		if os.Getenv("GPUTRAIN_REQUIRE_MPI") == "1" {
			t.Fatal("MNIST is not in data/mnist (make data)")
		}
		t.Skip("MNIST not present (make data)")
	}
	env := []string{"GPUTRAIN_TEST_AS_GPUTRAIN=1", "GPUTRAIN_TEST_JOB=" + tag}
	argv := []string{"--oversubscribe"}
	for _, kv := range env {
		argv = append(argv, "-x", kv)
	}
	for i, p := range parts {
		if i > 0 {
			argv = append(argv, ":")
		}
		argv = append(argv, p[0], p[1], os.Args[0])
		argv = append(argv, p[2:]...)
	}
	cmd := exec.Command(path, argv...)
	cmd.Env = append(os.Environ(), env...)
	if _, set := os.LookupEnv("OMPI_MCA_btl_vader_single_copy_mechanism"); !set {
		cmd.Env = append(cmd.Env, "OMPI_MCA_btl_vader_single_copy_mechanism=none")
	}
	if os.Geteuid() == 0 {
		cmd.Env = append(cmd.Env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
	}
	// mpirun and the ranks in a process group of their own, ended together on timeout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd, &out
}

// wait waits up to limit for the job started by startMPI.
func wait(t *testing.T, cmd *exec.Cmd, out *bytes.Buffer, limit time.Duration) mpiJob {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("mpirun: no end after %v (killed); output:\n%s", limit, out)
	}
	j := mpiJob{out: out.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		j.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("mpirun: %v", err)
	}
	return j
}

// mpiRun runs np ranks of gputrain with args and waits for them.
func mpiRun(t *testing.T, np int, args ...string) mpiJob {
	t.Helper()
	cmd, out := startMPI(t, t.Name(), append([]string{"-np", strconv.Itoa(np)}, args...))
	return wait(t, cmd, out, 5*time.Minute)
}

// alone runs gputrain in this process and wants exit status 0.
func alone(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	require.Equal(t, 0, code, "gputrain %s: %s%s", strings.Join(args, " "), out.String(), errb.String())
	return out.String()
}

// lastJSON is the -json report, the last line of out.
func lastJSON(t *testing.T, out string) report {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r report
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r), out)
	return r
}

// sameRun compares two runs' checkpoints and reports: every float tensor (weights and
// Adam's state) within 1e-5 relative to the tensor's largest value, max|a−b| ≤
// 1e-5·max|a|, and every epoch's loss (training, validation) and the test loss within
// 1e-5 relative, accuracies equal.
func sameRun(t *testing.T, wantCk, gotCk string, want, got report) {
	t.Helper()
	a, err := checkpoint.ReadFile(wantCk)
	require.NoError(t, err)
	b, err := checkpoint.ReadFile(gotCk)
	require.NoError(t, err)
	require.Equal(t, len(a.Tensors), len(b.Tensors))
	worst := 0.0
	for _, ta := range a.Tensors {
		tb := b.Tensor(ta.Name)
		require.NotNil(t, tb, ta.Name)
		if ta.F32 == nil {
			continue
		}
		require.Len(t, tb.F32, len(ta.F32), ta.Name)
		diff, scale := 0.0, 0.0
		for i, v := range ta.F32 {
			diff = math.Max(diff, math.Abs(float64(v)-float64(tb.F32[i])))
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		require.Positive(t, scale, ta.Name)
		assert.LessOrEqualf(t, diff/scale, 1e-5, "%s: largest difference %g, largest value %g", ta.Name, diff, scale)
		worst = math.Max(worst, diff/scale)
	}
	t.Logf("largest difference of a tensor relative to its largest value: %.2g", worst)
	rel := func(x, y float64) float64 { return math.Abs(x-y) / math.Max(math.Abs(x), 1e-12) }
	require.Len(t, got.History, len(want.History))
	for e, w := range want.History {
		g := got.History[e]
		assert.Equal(t, w.Examples, g.Examples)
		assert.LessOrEqualf(t, rel(w.Loss, g.Loss), 1e-5, "epoch %d loss %v vs %v", e+1, w.Loss, g.Loss)
		assert.Equal(t, w.Accuracy, g.Accuracy, "epoch %d accuracy", e+1)
		if w.HasValidation {
			assert.LessOrEqualf(t, rel(w.ValLoss, g.ValLoss), 1e-5, "epoch %d val loss %v vs %v", e+1, w.ValLoss, g.ValLoss)
			assert.Equal(t, w.ValAccuracy, g.ValAccuracy, "epoch %d val accuracy", e+1)
		}
	}
	assert.LessOrEqualf(t, rel(want.TestLoss, got.TestLoss), 1e-5, "test loss %v vs %v", want.TestLoss, got.TestLoss)
	assert.Equal(t, want.TestAccuracy, got.TestAccuracy)
}

// mpirun -np 2 with -batch 16 trains the reference job as one process with -batch 32:
// 200 steps (2 epochs of 3,200 examples), the same losses and weights within 1e-5
// relative; rank 0 alone prints and saves; the checkpoint records 2 ranks, resumes with
// 2 (equal to the single run resumed) and is refused by one process.
func TestDistTwoRanksEqualOneProcess(t *testing.T) {
	dir := t.TempDir()
	one, two := filepath.Join(dir, "one.safetensors"), filepath.Join(dir, "two.safetensors")
	common := []string{"-limit", "3200", "-val-split", "0", "-epochs", "2", "-json"}
	want := lastJSON(t, alone(t, distArgs(append(common, "-batch", "32", "-save", one)...)...))
	j := mpiRun(t, 2, distArgs(append(common, "-batch", "16", "-save", two)...)...)
	require.Equal(t, 0, j.code, j.out)
	got := lastJSON(t, j.out)
	assert.Equal(t, 2, got.Ranks)
	assert.Equal(t, 32, got.GlobalBatch)
	for _, line := range []string{"device cpu", "epoch 1/2", "epoch 2/2", "checkpoint saved to", "test  loss"} {
		assert.Equal(t, 1, strings.Count(j.out, line), "rank 0 alone prints %q:\n%s", line, j.out)
	}
	assert.Contains(t, j.out, "dist mpi: rank 0 of 2, Open MPI")
	assert.Contains(t, j.out, "global batch 32 = 2 ranks × 16")
	sameRun(t, one, two, want, got)
	ck, err := checkpoint.Open(two)
	require.NoError(t, err)
	assert.Equal(t, 2, ck.Settings.Ranks)
	assert.Equal(t, 200, ck.Progress.OptimizerSteps)

	// resumed with 2 ranks for a third epoch = the single run resumed for a third
	want3 := lastJSON(t, alone(t, distArgs("-resume", one, "-epochs", "3", "-json", "-save", one)...))
	j = mpiRun(t, 2, distArgs("-resume", two, "-epochs", "3", "-json", "-save", two)...)
	require.Equal(t, 0, j.code, j.out)
	assert.Equal(t, 1, strings.Count(j.out, "resumed from "+two), j.out)
	got3 := lastJSON(t, j.out)
	require.Len(t, got3.History, 3)
	sameRun(t, one, two, want3, got3)
	ck, err = checkpoint.Open(two)
	require.NoError(t, err)
	assert.Equal(t, 300, ck.Progress.OptimizerSteps)

	// one process cannot continue a 2-rank run
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run(distArgs("-resume", two, "-epochs", "4"), &out, &errb))
	assert.Contains(t, errb.String(), "saved by a job of 2 ranks (global batch 32 = 2 × 16), this one has 1: resume with 2 ranks")
	assert.Equal(t, 1, strings.Count(errb.String(), "\n"), errb.String())
}

// Three ranks with an uneven last batch (866 training examples = 18 × 48 + 2: the last
// batch's 2 go 1, 1, 0 to the ranks; 97 validation examples = 2 × 48 + 1: 1, 0, 0)
// train one process's run with -batch 48.
func TestDistThreeRanksUnevenLastBatch(t *testing.T) {
	dir := t.TempDir()
	one, three := filepath.Join(dir, "one.safetensors"), filepath.Join(dir, "three.safetensors")
	common := []string{"-limit", "963", "-val-split", "0.1", "-epochs", "2", "-json"}
	want := lastJSON(t, alone(t, distArgs(append(common, "-batch", "48", "-save", one)...)...))
	require.Equal(t, 866, want.TrainExamples)
	j := mpiRun(t, 3, distArgs(append(common, "-batch", "16", "-save", three)...)...)
	require.Equal(t, 0, j.code, j.out)
	got := lastJSON(t, j.out)
	assert.Equal(t, 3, got.Ranks)
	sameRun(t, one, three, want, got)
}

// SIGKILL of one rank mid-training: the others exit non-zero, the launcher
// and the survivors name the lost rank, and the last checkpoint is whole (an epoch's
// end, 3 ranks).
func TestDistKilledRank(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.safetensors")
	tag := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	cmd, out := startMPI(t, tag, append([]string{"-np", "3"},
		distArgs("-limit", "3000", "-val-split", "0", "-epochs", "10000", "-batch", "16", "-save", ck)...))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(ck); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint after 2 minutes:\n%s", out)
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // into a later epoch, maybe into a save
	pid := findRank(t, tag, 1)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	j := wait(t, cmd, out, time.Minute)
	assert.NotEqual(t, 0, j.code, j.out)
	// (no duration is asserted: wait's limit fails a job left hanging)
	lost := regexp.MustCompile(fmt.Sprintf(`rank 1 \(pid %d on [^)]+\) has ended|process rank 1 with PID %d`, pid, pid))
	assert.Regexp(t, lost, j.out, "the lost rank is named")
	c, err := checkpoint.Open(ck)
	require.NoError(t, err, "the last checkpoint is whole")
	assert.Equal(t, 3, c.Settings.Ranks)
	assert.Equal(t, 0, c.Progress.Batch, "saved at an epoch's end")
	assert.GreaterOrEqual(t, c.Progress.Epoch, 2)
	t.Logf("killed rank 1 (pid %d) after epoch %d; mpirun exited %d after %v; output:\n%s", pid, c.Progress.Epoch-1, j.code, j.elapsed.Round(time.Millisecond), j.out)
}

// findRank is the pid of rank r of the job tagged tag (its environment says so).
func findRank(t *testing.T, tag string, r int) int {
	t.Helper()
	want := [][]byte{[]byte("GPUTRAIN_TEST_JOB=" + tag + "\x00"), []byte(fmt.Sprintf("OMPI_COMM_WORLD_RANK=%d\x00", r))}
	dirs, err := filepath.Glob("/proc/[0-9]*/environ")
	require.NoError(t, err)
	for _, d := range dirs {
		env, err := os.ReadFile(d)
		if err != nil || !bytes.Contains(env, want[0]) || !bytes.Contains(env, want[1]) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		require.NoError(t, err)
		return pid
	}
	t.Fatalf("no process of job %s is rank %d", tag, r)
	return 0
}

// Ranks given different flags, or a rank that cannot load its data, stop every rank
// before training: one line each, exit status 2.
func TestDistRanksDisagree(t *testing.T) {
	args := distArgs("-limit", "640", "-epochs", "1")
	cmd, out := startMPI(t, t.Name(), append([]string{"-np", "1"}, append(args, "-batch", "16")...),
		append([]string{"-np", "1"}, append(args, "-batch", "32")...))
	j := wait(t, cmd, out, 2*time.Minute)
	assert.Equal(t, 2, j.code, j.out)
	line := `gputrain: comm: ranks disagree on -batch: rank 0 has "16", rank 1 has "32"` + "\n"
	assert.Equal(t, 2, strings.Count(j.out, line), "one line from each rank:\n%s", j.out)
	assert.Equal(t, 2, strings.Count(j.out, "gputrain: "), j.out)

	empty := t.TempDir()
	cmd, out = startMPI(t, t.Name(), append([]string{"-np", "1"}, args...),
		append([]string{"-np", "1"}, append(args, "-data", empty)...))
	j = wait(t, cmd, out, 2*time.Minute)
	assert.Equal(t, 2, j.code, j.out)
	assert.Regexp(t, `(?m)^gputrain: rank 1 of 2 could not start: .*`+regexp.QuoteMeta(empty), j.out)
	assert.Regexp(t, `(?m)^gputrain: .*`+regexp.QuoteMeta(empty), j.out)
	assert.Equal(t, 2, strings.Count(j.out, "gputrain: "), j.out)
	t.Logf("output:\n%s", j.out)
}

// SIGINT to one rank stops every rank at the same step: rank 0 saves a checkpoint and
// prints the command that resumes it, every rank exits 130, and the job resumes from it
// with the same number of ranks.
func TestDistInterruptedRank(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.safetensors")
	tag := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	cmd, out := startMPI(t, tag, append([]string{"-np", "2"},
		distArgs("-limit", "3000", "-val-split", "0", "-epochs", "10000", "-batch", "16", "-save", ck)...))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(ck); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint after 2 minutes:\n%s", out)
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, syscall.Kill(findRank(t, tag, 1), syscall.SIGINT))
	j := wait(t, cmd, out, time.Minute)
	assert.Equal(t, 130, j.code, j.out) // 128 + SIGINT
	assert.Equal(t, 1, strings.Count(j.out, "gputrain: interrupted at epoch "), "rank 0 alone says it:\n%s", j.out)
	assert.Contains(t, j.out, "resume with: mpirun -np 2 gputrain -resume "+ck)
	c, err := checkpoint.Open(ck)
	require.NoError(t, err)
	assert.Equal(t, 2, c.Settings.Ranks)
	assert.Zero(t, c.Progress.Batch%25, "stopped where the ranks read their sums (every 25 steps) or at an epoch's end")
	j = mpiRun(t, 2, distArgs("-resume", ck, "-epochs", strconv.Itoa(c.Progress.Epoch), "-json")...)
	require.Equal(t, 0, j.code, j.out)
	assert.Equal(t, c.Progress.Epoch, len(lastJSON(t, j.out).History))
}

// SIGUSR1 to rank 0 of a job saves a checkpoint and the job trains on (rank 0 alone
// writes and says so); SIGTERM to every rank, as a scheduler's preemption sends it,
// ends each at once with status 143 (device/comm) and announces no save that cannot
// come; the SIGUSR1 checkpoint is whole and resumes with 2 ranks.
func TestDistSaveSignalAndSIGTERM(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.safetensors")
	tag := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	cmd, out := startMPI(t, tag, append([]string{"-np", "2"},
		distArgs("-limit", "30000", "-val-split", "0", "-epochs", "10000", "-batch", "16", "-save", ck)...))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(ck); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint after 2 minutes")
		time.Sleep(20 * time.Millisecond)
	}
	// (the output is read once mpirun has ended: the job writes it meanwhile)
	require.NoError(t, syscall.Kill(findRank(t, tag, 0), syscall.SIGUSR1))
	for { // the SIGUSR1 checkpoint: mid-epoch (an epoch has 937 steps)
		if c, err := checkpoint.Open(ck); err == nil && c.Progress.Batch > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no mid-epoch checkpoint after 2 minutes")
		time.Sleep(5 * time.Millisecond)
	}
	for r := range 2 {
		require.NoError(t, syscall.Kill(findRank(t, tag, r), syscall.SIGTERM))
	}
	j := wait(t, cmd, out, time.Minute)
	assert.Equal(t, 143, j.code, j.out)
	// (no duration is asserted: wait's limit fails a rank left waiting)
	assert.Equal(t, 1, strings.Count(j.out, "gputrain: SIGUSR1: checkpoint saved to "+ck), "rank 0 alone saves and says so:\n%s", j.out)
	assert.Contains(t, j.out, "resume with: mpirun -np 2 gputrain -resume "+ck)
	assert.NotContains(t, j.out, "finishing the current step", "no save announced on SIGTERM in a job")
	c, err := checkpoint.Open(ck)
	require.NoError(t, err, "the checkpoint is whole")
	assert.Equal(t, 2, c.Settings.Ranks)
	j = mpiRun(t, 2, distArgs("-resume", ck, "-epochs", strconv.Itoa(c.Progress.Epoch), "-json")...)
	require.Equal(t, 0, j.code, j.out)
	assert.Equal(t, c.Progress.Epoch, len(lastJSON(t, j.out).History))
	t.Logf("output:\n%s", j.out)
}

// The ranks of a job on one machine share its memory on the cpu device: a -max-memory
// that one process fits in refuses two ranks (exit 2, the need of both named) before
// anything is allocated.
func TestDistMemoryPlanCountsTheMachinesRanks(t *testing.T) {
	args := distArgs("-limit", "3000", "-epochs", "1", "-batch", "16")
	var out, errb bytes.Buffer
	require.Equal(t, 2, run(append(args, "-max-memory", "1kB"), &out, &errb))
	m := regexp.MustCompile(`^gputrain: needs ([0-9.]+ [kMG]B) on cpu;`).FindStringSubmatch(errb.String())
	require.NotNil(t, m, errb.String())
	var one int64
	require.NoError(t, (&sizeValue{&one}).Set(m[1]))
	limit := fmt.Sprint(one * 3 / 2) // one process fits, two do not
	alone(t, append(args, "-max-memory", limit)...)
	j := mpiRun(t, 2, append(args, "-max-memory", limit)...)
	assert.Equal(t, 2, j.code, j.out)
	assert.Regexp(t, `gputrain: .*needs [0-9.]+ [kMG]B on cpu \(2 ranks on this machine, [0-9.]+ [kMG]B each\); [0-9.]+ [kMG]B -max-memory`, j.out)
	assert.NotContains(t, j.out, "epoch 1/1")
	t.Logf("-max-memory %s; output:\n%s", limit, j.out)
}
