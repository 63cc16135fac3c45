package device_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// A Planner counts the bytes of its buffers, live and at the peak, and holds none.
func TestPlannerCounts(t *testing.T) {
	p := device.NewPlanner(nil)
	assert.Equal(t, "plan", p.Name())
	a, err := p.Alloc(device.Float32, 1000) // 4000 bytes
	require.NoError(t, err)
	b, err := p.Alloc(device.Uint8, 1<<40) // a terabyte: nothing is allocated
	require.NoError(t, err)
	assert.Equal(t, 1<<40, b.Len())
	assert.Equal(t, int64(4000+1<<40), p.Live())
	v, err := p.View(a, 10, 20)
	require.NoError(t, err)
	assert.Equal(t, 20, v.Len())
	assert.Equal(t, int64(4000+1<<40), p.Live(), "a view counts nothing")
	p.Free(v)
	p.Free(b)
	p.Free(b) // twice: counted once
	assert.Equal(t, int64(4000), p.Live())
	c, err := p.Alloc(device.Int32, 10)
	require.NoError(t, err)
	assert.Equal(t, int64(4040), p.Live())
	assert.Equal(t, int64(4000+1<<40), p.Peak())
	assert.Equal(t, 3, p.Allocs())

	require.NoError(t, p.WriteInt32(c, make([]int32, 10)))
	got := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	require.NoError(t, p.ReadInt32(got, c))
	assert.Equal(t, make([]int32, 10), got, "reads give zeros")
	assert.Error(t, p.WriteFloat32(a, make([]float32, 3)), "lengths are still checked")
	_, err = p.Alloc(device.Float32, -1)
	assert.Error(t, err)
	assert.True(t, device.IsPlanner(p))
	assert.False(t, device.IsPlanner(nil))
}

// The Planner implements every method of device.Backend itself: none reaches the
// device it plans for (nil here), whose buffers it does not have. A method added to
// the interface fails this test until the Planner has it.
func TestPlannerImplementsEveryMethod(t *testing.T) {
	p := device.NewPlanner(nil)
	it := reflect.TypeFor[device.Backend]()
	v := reflect.ValueOf(p)
	for i := range it.NumMethod() {
		m := it.Method(i)
		args := make([]reflect.Value, m.Type.NumIn())
		for j := range args {
			args[j] = reflect.Zero(m.Type.In(j))
			if m.Type.In(j) == reflect.TypeFor[func() error]() {
				args[j] = reflect.ValueOf(func() error { return nil })
			}
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("Planner.%s is not implemented by the Planner (it reached the planned-for device): %v", m.Name, r)
				}
			}()
			v.MethodByName(m.Name).Call(args)
		}()
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 38_100_000_000: "38.1 GB",
		23_449_000_000: "23.4 GB", 1 << 40: "1.1 TB", -2_000_000: "-2.0 MB"} {
		assert.Equal(t, want, device.FormatBytes(n), "%d", n)
	}
}
