package cpu

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gputrain/gputrain/device"
)

var _ device.MemoryInfo = (*Backend)(nil)

// AvailableMemory implements device.MemoryInfo: the bytes this process can still take
// without swapping or being killed, as Linux reports them: /proc/meminfo's
// MemAvailable, lowered to what the process's memory cgroups (v2 memory.max, v1
// memory.limit_in_bytes, at every level up to the root) leave free, counting their
// inactive file cache as free. That is the limit a Slurm job or a Kubernetes pod
// enforces. Elsewhere than Linux it is an error: unknown.
func (b *Backend) AvailableMemory() (int64, error) {
	if b.closed {
		return 0, device.ErrClosed
	}
	return availableMemory("/")
}

// availableMemory reads the files of availableMemory under root (a test gives a tree
// of its own).
func availableMemory(root string) (int64, error) {
	meminfo, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return 0, fmt.Errorf("cpu: available memory: %w", err)
	}
	avail, err := meminfoField(meminfo, "MemAvailable")
	if err != nil {
		return 0, fmt.Errorf("cpu: available memory: /proc/meminfo: %w", err)
	}
	cg, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return avail, nil // no cgroups: the machine's figure
	}
	for _, line := range strings.Split(string(cg), "\n") {
		// hierarchy-ID:controllers:path; v2 is "0::/path", v1's memory controller
		// "N:memory:/path" (possibly with others, "N:memory,foo:/path").
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, limitFile, usageFile, inactive string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, limitFile, usageFile, inactive = "sys/fs/cgroup", "memory.max", "memory.current", "inactive_file"
		case hasController(parts[1], "memory"):
			dir, limitFile, usageFile, inactive = "sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"
		default:
			continue
		}
		// The cgroup and every parent up to the mount's root: a limit anywhere applies.
		for p := path.Clean("/" + parts[2]); ; p = path.Dir(p) {
			d := filepath.Join(root, dir, p)
			if free, ok := cgroupFree(d, limitFile, usageFile, inactive); ok {
				avail = min(avail, free)
			}
			if p == "/" {
				break
			}
		}
	}
	return max(avail, 0), nil
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// cgroupFree is a cgroup's limit less its usage (its inactive file cache counted as
// free), if it has a limit.
func cgroupFree(dir, limitFile, usageFile, inactiveKey string) (int64, bool) {
	limit, err := readInt(filepath.Join(dir, limitFile))
	if err != nil || limit >= 1<<62 { // "max", missing, or v1's "no limit" (2^63 rounded to pages)
		return 0, false
	}
	usage, err := readInt(filepath.Join(dir, usageFile))
	if err != nil {
		return 0, false
	}
	if stat, err := os.ReadFile(filepath.Join(dir, "memory.stat")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(stat))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == inactiveKey {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n <= usage {
					usage -= n
				}
			}
		}
	}
	return limit - usage, true
}

func readInt(file string) (int64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// meminfoField is a "Key:   N kB" line of /proc/meminfo, in bytes.
func meminfoField(meminfo []byte, key string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n, nil
	}
	return 0, errors.New("no " + key + " line (a kernel older than 3.14?)")
}
