//go:build !cuda && !cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Without the cuda build tag the backend is registered, so that asking for it names the
// problem, but it never opens.
func init() {
	device.Register("cuda", 10, func(device.Options) (device.Backend, error) {
		return nil, device.ErrNotCompiled
	})
}
