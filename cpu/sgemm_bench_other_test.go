//go:build !unix

package cpu

import "time"

// processCPUTime is not measured on this system; BenchmarkSgemm then reports no
// GFLOP/cpu-s.
func processCPUTime() time.Duration { return 0 }
