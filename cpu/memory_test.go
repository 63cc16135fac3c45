package cpu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRoot writes files under a temporary root: path → content.
func fakeRoot(t *testing.T, files map[string]string) string {
	root := t.TempDir()
	for p, c := range files {
		f := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(t, os.WriteFile(f, []byte(c), 0o644))
	}
	return root
}

const meminfo = "MemTotal:       24683664 kB\nMemFree:         1000000 kB\nMemAvailable:   23653824 kB\n"

// MemAvailable, lowered by the tightest memory cgroup (v1 and v2, any level), whose
// inactive file cache counts as free.
func TestAvailableMemory(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"no cgroups", map[string]string{"proc/meminfo": meminfo}, 23653824 * 1024},
		{"v2 unlimited", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/job\n",
			"sys/fs/cgroup/job/memory.max": "max\n", "sys/fs/cgroup/job/memory.current": "1000\n"}, 23653824 * 1024},
		{"v2 pod limit", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/kubepods/pod1/c1\n",
			"sys/fs/cgroup/kubepods/pod1/memory.max": "4000000000\n", "sys/fs/cgroup/kubepods/pod1/memory.current": "1500000000\n",
			"sys/fs/cgroup/kubepods/pod1/memory.stat":   "anon 1000000000\ninactive_file 500000000\n",
			"sys/fs/cgroup/kubepods/pod1/c1/memory.max": "max\n"}, 3_000_000_000},
		{"v1 slurm job", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "5:cpu:/\n4:memory:/slurm/uid_0/job_7\n",
			"sys/fs/cgroup/memory/slurm/uid_0/job_7/memory.limit_in_bytes": "2147483648\n",
			"sys/fs/cgroup/memory/slurm/uid_0/job_7/memory.usage_in_bytes": "147483648\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":                   "9223372036854771712\n"}, 2_000_000_000},
		{"v1 over its limit", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/j\n",
			"sys/fs/cgroup/memory/j/memory.limit_in_bytes": "100\n", "sys/fs/cgroup/memory/j/memory.usage_in_bytes": "200\n"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := availableMemory(fakeRoot(t, c.files))
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	_, err := availableMemory(fakeRoot(t, map[string]string{"proc/meminfo": "MemTotal: 1 kB\n"}))
	assert.ErrorContains(t, err, "no MemAvailable line")
	_, err = availableMemory(t.TempDir())
	assert.ErrorContains(t, err, "cpu: available memory")
}

// On this machine (Linux) the figure is positive and at most the machine's memory.
func TestAvailableMemoryHere(t *testing.T) {
	b := New(Options{Threads: 1})
	defer b.Close()
	n, err := b.AvailableMemory()
	if _, statErr := os.Stat("/proc/meminfo"); statErr != nil {
		assert.Error(t, err)
		return
	}
	require.NoError(t, err)
	assert.Positive(t, n)
	total, err := meminfoField(must(os.ReadFile("/proc/meminfo")), "MemTotal")
	require.NoError(t, err)
	assert.LessOrEqual(t, n, total)
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
