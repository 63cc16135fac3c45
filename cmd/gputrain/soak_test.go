package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkSoak trains the reference job (the default MLP on MNIST) for 300 epochs with
// -save, so a checkpoint every epoch, in a gputrain binary built for the purpose, and
// reads the process's resident memory (VmRSS) as epochs 10 and 300 end. It fails if the
// memory grew by 5 MB or more between them, if the checkpoint's folder ever held another
// file than the checkpoint (and the temporary file of a save under way), or if the
// checkpoint's tensors took another size than after the first epoch: a leak per step,
// per epoch or per save shows in 290 epochs. (The checkpoint's header grows by the
// history's one line per epoch, about 300 bytes: reported, not an error.) It is a benchmark, not a test (it
// takes 300 epochs); run it once with
//
//	go test -run '^$' -bench Soak -benchtime 1x -timeout 0 ./cmd/gputrain
//
// GPUTRAIN_SOAK_DEVICE=cuda soaks the CUDA backend (the binary is built with -tags
// cuda; a GPU is needed); GPUTRAIN_SOAK_EPOCHS (300) and GPUTRAIN_SOAK_LIMIT (0: all
// 54,000 training examples) shorten it; the first reading is at epoch 10 or the
// first, for fewer epochs.
func BenchmarkSoak(b *testing.B) {
	if _, err := os.Stat(filepath.Join(mnistDir, "train-images-idx3-ubyte.gz")); err != nil {
		b.Skip("MNIST not found in data/mnist: run `make data`")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("reads the resident memory from /proc")
	}
	device := envOr("GPUTRAIN_SOAK_DEVICE", "cpu")
	epochs, _ := strconv.Atoi(envOr("GPUTRAIN_SOAK_EPOCHS", "300"))
	limit := envOr("GPUTRAIN_SOAK_LIMIT", "0")
	first := min(10, epochs)
	dir := b.TempDir()
	bin := filepath.Join(dir, "gputrain")
	build := []string{"build", "-o", bin}
	if device == "cuda" {
		build = append(build, "-tags", "cuda")
	}
	if out, err := exec.Command("go", append(build, ".")...).CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	ckdir := filepath.Join(dir, "ck")
	if err := os.Mkdir(ckdir, 0o755); err != nil {
		b.Fatal(err)
	}
	save := filepath.Join(ckdir, "soak.safetensors")
	for range b.N {
		cmd := exec.Command(bin, "-device", device, "-data", mnistDir, "-epochs", strconv.Itoa(epochs), "-limit", limit,
			"-save", save, "-progress", "off")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		var rssFirst, rssLast, size0, meta0, metaLast int64
		problems := []string{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e, n int
			if _, err := fmt.Sscanf(sc.Text(), "epoch %d/%d", &e, &n); err != nil {
				continue
			}
			rss := residentKB(b, cmd.Process.Pid)
			switch e {
			case first:
				rssFirst = rss
			case epochs:
				rssLast = rss
			}
			// The line of epoch e is printed before its save: the files are epoch e-1's.
			if e < 2 {
				continue
			}
			entries, err := os.ReadDir(ckdir)
			if err != nil {
				b.Fatal(err)
			}
			others := 0
			for _, en := range entries {
				// epoch e's save may be under way: its temporary file is expected
				if en.Name() != "soak.safetensors" && !strings.HasPrefix(en.Name(), ".soak.safetensors.tmp-") {
					others++
				}
			}
			data, meta, err := checkpointParts(save)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("epoch %d: %v", e, err))
			case others > 0:
				problems = append(problems, fmt.Sprintf("epoch %d: %d other files in the checkpoint's folder", e, others))
			case size0 == 0:
				size0, meta0 = data, meta
			case data != size0:
				problems = append(problems, fmt.Sprintf("epoch %d: %d bytes of tensors, %d after epoch 1", e, data, size0))
			}
			metaLast = meta
		}
		io.Copy(io.Discard, stdout)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("gputrain: %v\n%s", err, stderr.String())
		}
		if entries, err := os.ReadDir(ckdir); err != nil || len(entries) != 1 {
			problems = append(problems, fmt.Sprintf("at the end, %d files in the checkpoint's folder (%v), want the checkpoint alone", len(entries), err))
		}
		growth := float64(rssLast-rssFirst) / 1024
		perEpoch := float64(metaLast-meta0) / float64(max(epochs-2, 1))
		b.ReportMetric(float64(rssFirst)/1024, fmt.Sprintf("rss-epoch%d-MB", first))
		b.ReportMetric(float64(rssLast)/1024, fmt.Sprintf("rss-epoch%d-MB", epochs))
		b.ReportMetric(growth, "rss-growth-MB")
		b.ReportMetric(float64(size0), "checkpoint-tensor-bytes")
		b.ReportMetric(perEpoch, "checkpoint-header-bytes/epoch")
		b.Logf("%s, %d epochs: resident %.1f MB after epoch %d, %.1f MB after epoch %d (%+.1f MB); the checkpoint alone in its folder, "+
			"its tensors %d bytes at every epoch, its header (metadata: the history grows by an epoch's figures) %d to %d bytes",
			device, epochs, float64(rssFirst)/1024, first, float64(rssLast)/1024, epochs, growth, size0, meta0, metaLast)
		if growth >= 5 {
			problems = append(problems, fmt.Sprintf("resident memory grew by %.1f MB from epoch %d to %d", growth, first, epochs))
		}
		if len(problems) > 0 {
			b.Errorf("soak: %s", strings.Join(problems, "; "))
		}
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// residentKB is a process's VmRSS, in kB.
func residentKB(b *testing.B, pid int) int64 {
	f, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(f), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// checkpointParts are the bytes of a safetensors file's tensors and of its header.
func checkpointParts(path string) (data, header int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return 0, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	header = int64(binary.LittleEndian.Uint64(n[:]))
	return st.Size() - 8 - header, header, nil
}
