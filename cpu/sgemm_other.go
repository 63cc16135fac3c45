//go:build !amd64 || noasm

package cpu

// Without assembly (other architectures, or the noasm build tag) the portable variant is
// the only one.
func init() { sgemmAvailable = append(sgemmAvailable, sgemmGo) }
