//go:build mpi

package comm_test

// The mpi kind's tests run this test binary as the ranks of a job. Each TestMPI* test
// starts `mpirun -np N <this binary> -test.run '^TestRank…$'` with a scenario in
// GPUTRAIN_COMM_SCENARIO; in a process that a launcher started, TestMain opens the job's
// Comm on the cpu backend and the TestRank* test of that scenario runs in every rank.
// Without mpirun the TestMPI* tests skip (GPUTRAIN_REQUIRE_MPI=1 makes that a failure).
//
// As root, mpirun needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; the
// tests set them for the mpirun they start, and pass --oversubscribe (more ranks than
// cores) and, unless set, OMPI_MCA_btl_vader_single_copy_mechanism=none (see mpirun).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
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

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/internal/atomicfile"
)

var (
	rank    comm.Comm // the job's Comm, in a process that a launcher started
	rankDev device.Backend
)

func TestMain(m *testing.M) {
	if comm.Detect().Launcher == "" {
		os.Exit(m.Run())
	}
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" && comm.Detect().Rank != 0 {
		os.Stdout, _ = os.Open(os.DevNull) // rank 0 reports the benchmarks
	}
	rankDev = cpu.New(cpu.Options{Threads: 1})
	c, err := comm.Open("auto", rankDev)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rank = c
	code := m.Run()
	if err := closeAndCheck(c); err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", c.Rank(), err)
		code = 1
	}
	os.Exit(code)
}

// closeAndCheck closes the job's Comm, then checks that it refuses work and that MPI
// cannot start again in this process.
func closeAndCheck(c comm.Comm) error {
	if err := c.Close(); err != nil {
		return err
	}
	buf, _ := rankDev.Alloc(device.Float32, 4)
	if err := c.AllReduceSum(buf); err == nil || !strings.Contains(err.Error(), "comm: mpi: MPI_Allreduce on a closed communicator") {
		return fmt.Errorf("all-reduce after Close: %v", err)
	}
	if _, err := comm.Open("mpi", rankDev); err == nil || !strings.Contains(err.Error(), "MPI was finalized in this process; it cannot be started again") {
		return fmt.Errorf("Open after Close: %v", err)
	}
	return c.Close()
}

// inRank skips unless this process is a rank started for scenario.
func inRank(t testing.TB, scenario string) {
	t.Helper()
	if rank == nil || os.Getenv("GPUTRAIN_COMM_SCENARIO") != scenario {
		t.Skip("runs as a rank of an mpirun job started by TestMPI*")
	}
}

// job is what an mpirun run left.
type job struct {
	out     string
	code    int
	elapsed time.Duration
}

// mpirun runs np ranks of this test binary running test, with scenario and env set in
// every rank; args go to mpirun before the program (wrap, when given, is the program
// and its leading arguments, the test binary following them). It gives up after limit.
func mpirun(t *testing.T, np int, scenario, test string, limit time.Duration, args, wrap, env []string) job {
	t.Helper()
	if rank != nil {
		t.Skip("in a rank")
	}
	path, err := exec.LookPath("mpirun")
	if err != nil {
		if os.Getenv("GPUTRAIN_REQUIRE_MPI") == "1" {
			t.Fatalf("mpirun not found: %v", err)
		}
		t.Skipf("mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev; GPUTRAIN_REQUIRE_MPI=1 makes this a failure): %v", err)
	}
	env = append(env, "GPUTRAIN_COMM_SCENARIO="+scenario)
	argv := []string{"--oversubscribe", "-np", strconv.Itoa(np)}
	for _, kv := range env {
		argv = append(argv, "-x", kv)
	}
	argv = append(argv, args...)
	argv = append(argv, wrap...)
	argv = append(argv, os.Args[0], "-test.run", "^"+test+"$", "-test.v", "-test.count=1", "-test.timeout=120s")
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, argv...)
	cmd.Env = append(os.Environ(), env...)
	if _, set := os.LookupEnv("OMPI_MCA_btl_vader_single_copy_mechanism"); !set {
		// Containers without CAP_SYS_PTRACE break the shared-memory transport's default
		// single-copy mode (CMA: "Read -1, expected …, errno = 1"); copy-in/copy-out
		// works everywhere and is what these tests need (docs/perf.md measures both)
		cmd.Env = append(cmd.Env, "OMPI_MCA_btl_vader_single_copy_mechanism=none")
	}
	if os.Geteuid() == 0 {
		cmd.Env = append(cmd.Env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
	}
	// mpirun and the ranks in a process group of their own, ended together on timeout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	j := job{out: out.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("mpirun -np %d %s: no end after %v (killed); output:\n%s", np, test, limit, j.out)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		j.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("mpirun: %v", err)
	}
	return j
}

// The collectives on the cpu backend's buffers, with 2 ranks and with 3 (more ranks
// than this machine's cores, some machines).
func TestMPICollectives(t *testing.T) {
	for _, np := range []int{2, 3} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			j := mpirun(t, np, "collectives", "TestRankCollectives", 90*time.Second, nil, nil, []string{"GPUTRAIN_COMM_NP=" + strconv.Itoa(np)})
			if j.code != 0 || strings.Count(j.out, "--- PASS: TestRankCollectives (") != np {
				t.Fatalf("mpirun -np %d: exit %d, want 0 and %d passes; output:\n%s", np, j.code, np, j.out)
			}
			t.Logf("%d ranks passed in %v", np, j.elapsed.Round(time.Millisecond))
		})
	}
}

// TestRankCollectives runs in every rank of TestMPICollectives.
func TestRankCollectives(t *testing.T) {
	inRank(t, "collectives")
	r, n := rank.Rank(), rank.Size()
	dev := rank.Device()
	if want, _ := strconv.Atoi(os.Getenv("GPUTRAIN_COMM_NP")); n != want || rank.Kind() != "mpi" {
		t.Fatalf("kind %s, size %d, want mpi and %d", rank.Kind(), n, want)
	}
	l := comm.Detect()
	if l.Rank != r || l.LocalRank != rank.LocalRank() || rank.LocalSize() != n {
		t.Errorf("rank %d, local rank %d of %d; the launcher says rank %d, local rank %d, and all %d ranks run here",
			r, rank.LocalRank(), rank.LocalSize(), l.Rank, l.LocalRank, n)
	}
	t.Log(rank.Describe())

	// the cpu backend's buffers go to MPI as they are; a backend that does not offer
	// its memory (here: the cpu backend behind a wrapper) is staged through a copy
	staged, err := comm.OpenMPI(struct{ device.Backend }{dev})
	must(t, err)
	defer staged.Close()
	for _, c := range []struct {
		name string
		c    comm.Comm
	}{{"zero-copy", rank}, {"staged", staged}} {
		t.Run(c.name, func(t *testing.T) { sumsAndBroadcasts(t, c.c, r, n) })
	}

	t.Run("all-gather of different lengths", func(t *testing.T) {
		all, err := rank.AllGather(bytes.Repeat([]byte{byte('a' + r)}, r)) // rank 0 sends nothing
		must(t, err)
		if len(all) != n {
			t.Fatalf("%d values from %d ranks", len(all), n)
		}
		for q, got := range all {
			if want := strings.Repeat(string(rune('a'+q)), q); string(got) != want {
				t.Errorf("rank %d's bytes: %q, want %q", q, got, want)
			}
		}
	})

	t.Run("agree", func(t *testing.T) {
		must(t, comm.Agree(rank, "the model", "mlp 784-128-64-10"))
		batch := "32"
		if r == n-1 {
			batch = "64"
		}
		want := fmt.Sprintf(`comm: ranks disagree on the batch size: rank 0 has "32", rank %d has "64"`, n-1)
		if err := comm.Agree(rank, "the batch size", batch); err == nil || err.Error() != want {
			t.Errorf("Agree: %v, want %s", err, want)
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		ints, _ := dev.Alloc(device.Int32, 3)
		f, _ := dev.Alloc(device.Float32, 3)
		for _, tc := range []struct {
			err  error
			want string
		}{
			{rank.AllReduceSum(nil), "comm: all-reduce: the buffer is nil"},
			{rank.AllReduceSum(ints), "comm: all-reduce: the buffer is int32, want float32"},
			{rank.Broadcast(f, n), fmt.Sprintf("comm: broadcast: root %d is not a rank (size %d)", n, n)},
		} {
			if tc.err == nil || tc.err.Error() != tc.want {
				t.Errorf("error %v, want %q", tc.err, tc.want)
			}
		}
		must(t, rank.Barrier()) // every rank still in step
	})
}

// sumsAndBroadcasts checks c's AllReduceSum and Broadcast in rank r of n.
func sumsAndBroadcasts(t *testing.T, c comm.Comm, r, n int) {
	dev := c.Device()
	t.Run("sum of integers is exact", func(t *testing.T) {
		// v_r[i] = (7r+1)*(i%97): the sum is (i%97) * sum_r (7r+1), exact in float32
		coef := 0
		for q := range n {
			coef += 7*q + 1
		}
		for _, size := range []int{1, 7, 1000, 109386} {
			v := make([]float32, size)
			for i := range v {
				v[i] = float32((7*r + 1) * (i % 97))
			}
			buf := upload(t, dev, v)
			must(t, c.AllReduceSum(buf))
			got := download(t, dev, buf)
			for i := range got {
				if want := float32(coef * (i % 97)); got[i] != want {
					t.Fatalf("length %d: element %d is %v, want %v", size, i, got[i], want)
				}
			}
		}
	})

	t.Run("sum of reals matches and is the same on every rank", func(t *testing.T) {
		// v_r[i] = sin(0.37 i + r): compared with the float64 sum, and bit for bit across
		// ranks (a trainer's ranks must keep identical weights); with 2 ranks the one
		// float32 addition is the sum exactly. The lengths cover Open MPI's choices of
		// algorithm, from one element to the char-GPT's gradient.
		for _, size := range []int{1, 7, 1000, 109386, 812288} {
			v := make([]float32, size)
			for i := range v {
				v[i] = rankValue(r, i)
			}
			buf := upload(t, dev, v)
			must(t, c.AllReduceSum(buf))
			got := download(t, dev, buf)
			worst := 0.0
			for i := range got {
				var want float64
				for q := range n {
					want += float64(rankValue(q, i))
				}
				if n == 2 && got[i] != rankValue(0, i)+rankValue(1, i) {
					t.Fatalf("length %d: element %d is %v, want %v + %v exactly", size, i, got[i], rankValue(0, i), rankValue(1, i))
				}
				if e := math.Abs(float64(got[i]) - want); e > 1e-6*max(1, math.Abs(want)) {
					t.Fatalf("length %d: element %d is %v, want %v (error %g)", size, i, got[i], want, e)
				} else if e > worst {
					worst = e
				}
			}
			sum := sha256.New()
			binary.Write(sum, binary.LittleEndian, got)
			all, err := c.AllGather(sum.Sum(nil))
			must(t, err)
			for q := range all {
				if !bytes.Equal(all[q], all[0]) {
					t.Fatalf("length %d: rank %d's sum differs from rank 0's (sha256 %x, %x)", size, q, all[q][:8], all[0][:8])
				}
			}
			t.Logf("length %d: largest error %.3g against the float64 sum; identical on all %d ranks", size, worst, n)
		}
	})

	t.Run("a sum allocates nothing", func(t *testing.T) {
		// the training step allocates nothing; the staged path's host copy is made once
		buf := upload(t, dev, make([]float32, 109386))
		if a := testing.AllocsPerRun(5, func() { must(t, c.AllReduceSum(buf)) }); a != 0 {
			t.Errorf("%v allocations per sum", a)
		}
	})

	t.Run("a view is summed, the rest of its buffer is not", func(t *testing.T) {
		whole := make([]float32, 1000)
		for i := range whole {
			whole[i] = 5
		}
		buf := upload(t, dev, whole)
		view, err := dev.View(buf, 100, 500)
		must(t, err)
		part := make([]float32, 500)
		for i := range part {
			part[i] = float32(r + i)
		}
		must(t, dev.WriteFloat32(view, part))
		must(t, c.AllReduceSum(view))
		got := download(t, dev, buf)
		for i, g := range got {
			want := float32(5)
			if i >= 100 && i < 600 {
				want = float32(n*(n-1)/2 + n*(i-100))
			}
			if g != want {
				t.Fatalf("element %d: %v, want %v", i, g, want)
			}
		}
	})

	t.Run("broadcast from every root", func(t *testing.T) {
		for root := range n {
			v := make([]float32, 3001)
			for i := range v {
				v[i] = float32(1000*r + i)
			}
			buf := upload(t, dev, v)
			must(t, c.Broadcast(buf, root))
			for i, g := range download(t, dev, buf) {
				if want := float32(1000*root + i); g != want {
					t.Fatalf("root %d: element %d is %v, want %v", root, i, g, want)
				}
			}
		}
	})

}

func rankValue(r, i int) float32 { return float32(math.Sin(0.37*float64(i) + float64(r))) }

// A trainer checks its settings at start with Agree; on a mismatch every rank prints the
// same line and exits with status 2, and so does mpirun.
func TestMPIDisagree(t *testing.T) {
	j := mpirun(t, 2, "disagree", "TestRankDisagree", 60*time.Second, nil, nil, nil)
	line := `comm: ranks disagree on the data set's size: rank 0 has "60000", rank 1 has "59999"`
	if j.code != 2 || strings.Count(j.out, line) != 2 {
		t.Fatalf("exit %d, want 2, and %q from both ranks; output:\n%s", j.code, line, j.out)
	}
}

func TestRankDisagree(t *testing.T) {
	inRank(t, "disagree")
	size := 60000 - rank.Rank()
	if err := comm.Agree(rank, "the data set's size", strconv.Itoa(size)); err != nil {
		fmt.Println(err)
		rank.Close()
		os.Exit(2)
	}
	t.Fatal("the ranks agreed on different sizes")
}

// Abort from one rank ends every rank at once, and mpirun exits with its code. (Open
// MPI's own report of the abort sometimes fails to print: "ORTE_ERROR_LOG: Out of
// resource in file ../../../orte/util/show_help.c", so it is not required.)
func TestMPIAbort(t *testing.T) {
	j := mpirun(t, 2, "abort", "TestRankAbort", 60*time.Second, nil, nil, nil)
	if j.code != 3 { // mpirun's limit fails a rank left hanging
		t.Fatalf("exit %d, want 3 (the abort's code); output:\n%s", j.code, j.out)
	}
}

func TestRankAbort(t *testing.T) {
	inRank(t, "abort")
	must(t, rank.Barrier())
	if rank.Rank() == 1 {
		rank.Abort(3)
	}
	rank.Barrier() // rank 1 never comes
	t.Fatal("rank 0 passed a barrier without rank 1")
}

// killed runs 3 ranks that sum a buffer every step and rank 1 SIGKILLs itself at step
// 50; rank 0 writes a checkpoint of the summed buffer every 10 steps. wrap and args make
// the launcher's part (see the two tests below).
const (
	killStep  = 50
	killLen   = 1000
	ckptEvery = 10
)

// When one rank dies, mpirun ends the others and names the lost rank; each survivor
// names it too, no rank hangs, and the last checkpoint is whole.
func TestMPIKilledRank(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	j := mpirun(t, 3, "kill", "TestRankKilled", 60*time.Second, nil, nil, []string{"GPUTRAIN_COMM_CKPT=" + ckpt})
	if j.code == 0 { // mpirun's limit fails a rank left hanging
		t.Errorf("exit %d, want non-zero", j.code)
	}
	if !regexp.MustCompile(`process rank 1 .*exited on signal 9`).MatchString(j.out) {
		t.Logf("mpirun's own report of the lost rank did not print (its show_help can fail)")
	}
	for _, r := range []int{0, 2} {
		if !regexp.MustCompile(fmt.Sprintf(`comm: rank %d of 3: rank 1 \(pid \d+ on [^)]+\) has ended`, r)).MatchString(j.out) {
			t.Errorf("rank %d did not name rank 1 as lost", r)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", j.out)
	}
	checkCheckpoint(t, ckpt, 3)
	t.Logf("ended %v after start, exit %d", j.elapsed.Round(time.Millisecond), j.code)
}

// With a launcher that does not end the other ranks (here: each rank wrapped in a shell
// that records its status and exits 0, and mpirun --enable-recovery), each survivor finds
// rank 1 gone while it waits in MPI_Allreduce, says so and exits 1 by itself.
func TestMPIKilledRankLauncherWaits(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	wrap := []string{"sh", "-c", `"$0" "$@"; echo $? > "$GPUTRAIN_COMM_STATUS/$OMPI_COMM_WORLD_RANK"`}
	j := mpirun(t, 3, "kill", "TestRankKilled", 60*time.Second, []string{"--enable-recovery"}, wrap,
		[]string{"GPUTRAIN_COMM_CKPT=" + ckpt, "GPUTRAIN_COMM_STATUS=" + dir})
	// No rank hangs: mpirun's limit would have failed the test.
	for r, want := range []string{"1", "137", "1"} {
		got, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(r)))
		if err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("rank %d's exit status: %q (%v), want %s", r, got, err, want)
		}
	}
	for _, r := range []int{0, 2} {
		if !regexp.MustCompile(fmt.Sprintf(`comm: rank %d of 3: rank 1 \(pid \d+ on [^)]+\) has ended while this rank waits for it in MPI_Allreduce; exiting`, r)).MatchString(j.out) {
			t.Errorf("rank %d did not name rank 1 as lost", r)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", j.out)
	}
	checkCheckpoint(t, ckpt, 3)
}

// TestRankKilled runs in every rank of the two tests above.
func TestRankKilled(t *testing.T) {
	inRank(t, "kill")
	r, n, dev := rank.Rank(), rank.Size(), rank.Device()
	buf, err := dev.Alloc(device.Float32, killLen)
	must(t, err)
	v := make([]float32, killLen)
	for step := 1; step < 100000; step++ {
		for i := range v {
			v[i] = float32(step + r + i%10)
		}
		must(t, dev.WriteFloat32(buf, v))
		must(t, rank.AllReduceSum(buf))
		must(t, dev.ReadFloat32(v, buf))
		if r == 0 && step%ckptEvery == 0 {
			must(t, atomicfile.Write(os.Getenv("GPUTRAIN_COMM_CKPT"), func(w io.Writer) error {
				fmt.Fprintf(w, "step %d\n", step)
				return binary.Write(w, binary.LittleEndian, v)
			}))
		}
		if r == 1 && step == killStep {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		time.Sleep(2 * time.Millisecond) // the rest of a training step
	}
	t.Fatalf("rank %d of %d ran 100000 steps: rank 1 never died or was never missed", r, n)
}

// checkCheckpoint reads rank 0's last checkpoint: a whole file from a step at or after
// the last one every rank took part in, holding that step's sum.
func checkCheckpoint(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the last checkpoint: %v", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var step int
	if _, err := fmt.Fscanf(br, "step %d\n", &step); err != nil {
		t.Fatalf("checkpoint header: %v", err)
	}
	v := make([]float32, killLen)
	if err := binary.Read(br, binary.LittleEndian, v); err != nil {
		t.Fatalf("checkpoint of step %d: %v", step, err)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("checkpoint of step %d: %d bytes too many", step, len(rest))
	}
	if step < killStep-ckptEvery || step%ckptEvery != 0 {
		t.Errorf("last checkpoint at step %d, want a multiple of %d from %d on", step, ckptEvery, killStep-ckptEvery)
	}
	for i, g := range v {
		if want := float32(n*step + n*(n-1)/2 + n*(i%10)); g != want {
			t.Fatalf("checkpoint of step %d: element %d is %v, want %v", step, i, g, want)
		}
	}
}

// BenchmarkRankAllReduce measures the mpi kind's sum at the gradient sizes of the
// reference MLP (784-128-64-10: 109,386 parameters) and of the char-GPT (4 layers, width
// 128, vocabulary 84, context 64: 812,288), and at 4 Mi floats, on cpu buffers:
// zero-copy hands the buffer's memory to MPI_Allreduce (what the cpu backend gets);
// staged reads it to a host copy and writes the sum back (what a backend that does not
// offer its memory gets). It runs in the ranks of a job, with a fixed iteration count so
// that every rank calls the same collectives:
//
//	mpirun -np 2 comm.test -test.run '^$' -test.bench RankAllReduce -test.benchtime 200x
//
// (bench/run.sh, docs/perf.md). busGB/s is the bus bandwidth, 2(N-1)/N * bytes / time.
func BenchmarkRankAllReduce(b *testing.B) {
	inRank(b, "")
	staged, err := comm.OpenMPI(struct{ device.Backend }{rankDev})
	if err != nil {
		b.Fatal(err)
	}
	defer staged.Close()
	if bt := flag.Lookup("test.benchtime").Value.String(); !strings.HasSuffix(bt, "x") {
		// a time target lets each rank pick its own count: the ranks would not match
		b.Fatalf("-test.benchtime %s: give an iteration count (200x), the same in every rank", bt)
	}
	n := rank.Size()
	for _, size := range []struct {
		name string
		n    int
	}{{"mlp=109386", 109386}, {"chargpt=812288", 812288}, {"4Mi", 1 << 22}} {
		buf, err := rankDev.Alloc(device.Float32, size.n)
		if err != nil {
			b.Fatal(err)
		}
		report := func(b *testing.B) {
			bytes := float64(4 * size.n)
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(2*float64(n-1)/float64(n)*bytes/sec/1e9, "busGB/s")
			b.ReportMetric(sec*1e6, "µs/op")
		}
		for _, c := range []struct {
			name string
			c    comm.Comm
		}{{"zero-copy", rank}, {"staged", staged}} {
			b.Run(size.name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(4 * size.n))
				for b.Loop() {
					if err := c.c.AllReduceSum(buf); err != nil {
						b.Fatal(err)
					}
				}
				report(b)
			})
		}
		rankDev.Free(buf)
	}
}

func upload(t *testing.T, dev device.Backend, v []float32) device.Buffer {
	t.Helper()
	buf, err := dev.Alloc(device.Float32, len(v))
	must(t, err)
	must(t, dev.WriteFloat32(buf, v))
	return buf
}

func download(t *testing.T, dev device.Backend, buf device.Buffer) []float32 {
	t.Helper()
	v := make([]float32, buf.Len())
	must(t, dev.ReadFloat32(v, buf))
	return v
}
