//go:build !unix

package train

import "time"

// processCPUTime is not measured on this system; the benchmarks then report no CPU time.
func processCPUTime() time.Duration { return 0 }
