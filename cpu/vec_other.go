//go:build !amd64 || noasm

package cpu

// Without assembly (other architectures, or the noasm build tag) the Go loops are the
// only vector primitives.
func init() { vecAvailable = append(vecAvailable, vecGo) }
