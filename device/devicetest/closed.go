package devicetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gputrain/gputrain/device"
)

// notAfterClose are the methods of device.Backend that keep working after Close: the
// backend's names, Close itself (a second Close is harmless) and Free (a buffer freed
// after Close is no error).
var notAfterClose = map[string]bool{"Name": true, "Describe": true, "Close": true, "Free": true}

// Closed checks the contract of a closed backend: it closes b, then calls every method
// of device.Backend (found by reflection, so a method added to the interface is checked
// too), and of the optional interfaces b implements (device.HostMemory,
// device.MemoryInfo), with zero arguments. Each must return device.ErrClosed, before
// any argument check, and none may panic; Name, Describe, Close and Free may be called.
// b must be a backend of its own: it is unusable afterwards.
func Closed(t *testing.T, b device.Backend) {
	t.Helper()
	buf, err := b.Alloc(device.Float32, 4)
	if err != nil {
		t.Fatalf("alloc before Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ifaces := []reflect.Type{reflect.TypeFor[device.Backend]()}
	for _, opt := range []reflect.Type{reflect.TypeFor[device.HostMemory](), reflect.TypeFor[device.MemoryInfo]()} {
		if reflect.TypeOf(b).Implements(opt) {
			ifaces = append(ifaces, opt)
		}
	}
	v := reflect.ValueOf(b)
	for _, it := range ifaces {
		for i := range it.NumMethod() {
			m := it.Method(i)
			args := make([]reflect.Value, m.Type.NumIn())
			for j := range args {
				args[j] = reflect.Zero(m.Type.In(j))
			}
			var out []reflect.Value
			panicked := func() (p any) {
				defer func() { p = recover() }()
				out = v.MethodByName(m.Name).Call(args)
				return nil
			}()
			if panicked != nil {
				t.Errorf("%s after Close panicked: %v", m.Name, panicked)
				continue
			}
			if notAfterClose[m.Name] {
				continue
			}
			err := lastError(out)
			if !errors.Is(err, device.ErrClosed) {
				t.Errorf("%s after Close: error %v, want device.ErrClosed", m.Name, err)
			}
		}
	}
	// And with a real buffer of the backend's, for the methods that take one first.
	if err := b.WriteFloat32(buf, make([]float32, 4)); !errors.Is(err, device.ErrClosed) {
		t.Errorf("WriteFloat32 of a buffer after Close: %v, want device.ErrClosed", err)
	}
	if err := b.Fill(buf, 1); !errors.Is(err, device.ErrClosed) {
		t.Errorf("Fill of a buffer after Close: %v, want device.ErrClosed", err)
	}
	b.Free(buf)
	if err := b.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// lastError is the error a method returned: its last result, when that is an error.
func lastError(out []reflect.Value) error {
	if len(out) == 0 {
		return fmt.Errorf("the method returns nothing")
	}
	last := out[len(out)-1]
	if last.Type() != reflect.TypeFor[error]() {
		return fmt.Errorf("the method returns no error")
	}
	if last.IsNil() {
		return nil
	}
	return last.Interface().(error)
}
