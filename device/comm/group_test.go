package comm_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
)

// group starts n ranks of an in-process job and runs f in each, concurrently; it returns
// every rank's error. Each rank closes its Comm when f returns.
func group(t *testing.T, n int, f func(c comm.Comm) error) []error {
	t.Helper()
	devs := make([]device.Backend, n)
	for r := range devs {
		devs[r] = cpu.New(cpu.Options{Threads: 1})
	}
	comms, err := comm.NewGroup(devs)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range comms {
		if c.Rank() != r || c.Size() != n || c.Kind() != "group" || c.Device() != devs[r] {
			t.Fatalf("rank %d: %s, rank %d of %d", r, c.Kind(), c.Rank(), c.Size())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			errs[r] = f(c)
		}()
	}
	wg.Wait()
	return errs
}

// The group's collectives: sums in rank order (exactly the float32 sum b₀+b₁+…, the same
// bits on every rank), broadcasts from every root, all-gathers of different lengths,
// barriers, repeated so that the rounds follow one another without a rank reading a
// result the next round has overwritten.
func TestGroupCollectives(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint(n, " ranks"), func(t *testing.T) {
			errs := group(t, n, func(c comm.Comm) error {
				dev, r := c.Device(), c.Rank()
				for round := range 50 {
					size := 1 + (round*37)%300
					v := make([]float32, size)
					for i := range v {
						v[i] = float32(math.Sin(float64(r*1000 + i + round)))
					}
					buf, _ := dev.Alloc(device.Float32, size)
					dev.WriteFloat32(buf, v)
					if err := c.AllReduceSum(buf); err != nil {
						return err
					}
					got := make([]float32, size)
					dev.ReadFloat32(got, buf)
					for i := range got {
						want := float32(0)
						for s := range n {
							want += float32(math.Sin(float64(s*1000 + i + round)))
						}
						if got[i] != want {
							return fmt.Errorf("round %d: sum[%d] = %v, want %v", round, i, got[i], want)
						}
					}
					root := round % n
					dev.WriteFloat32(buf, v)
					if err := c.Broadcast(buf, root); err != nil {
						return err
					}
					dev.ReadFloat32(got, buf)
					for i := range got {
						if want := float32(math.Sin(float64(root*1000 + i + round))); got[i] != want {
							return fmt.Errorf("round %d: broadcast from %d: [%d] = %v, want %v", round, root, i, got[i], want)
						}
					}
					all, err := c.AllGather([]byte(strings.Repeat("x", r+round%3)))
					if err != nil {
						return err
					}
					for s, b := range all {
						if len(b) != s+round%3 {
							return fmt.Errorf("round %d: all-gather: rank %d sent %d bytes, got %d", round, s, s+round%3, len(b))
						}
					}
					if err := c.Barrier(); err != nil {
						return err
					}
				}
				return nil
			})
			for r, err := range errs {
				if err != nil {
					t.Errorf("rank %d: %v", r, err)
				}
			}
		})
	}
}

// Ranks that call different collectives, or pass different lengths or roots, all get the
// same error; a rank that closes ends the others' waits with an error naming it.
func TestGroupErrors(t *testing.T) {
	cases := []struct {
		name string
		f    func(c comm.Comm) error
		want string
	}{
		{"lengths", func(c comm.Comm) error {
			buf, _ := c.Device().Alloc(device.Float32, 4+c.Rank())
			return c.AllReduceSum(buf)
		}, "comm: group: all-reduce of different lengths: rank 0 has 4 elements, rank 1 has 5"},
		{"roots", func(c comm.Comm) error {
			buf, _ := c.Device().Alloc(device.Float32, 4)
			return c.Broadcast(buf, c.Rank()%2)
		}, "comm: group: broadcast from different roots: rank 0 names 0, rank 1 names 1"},
		{"operations", func(c comm.Comm) error {
			if c.Rank() == 2 {
				return c.Barrier()
			}
			buf, _ := c.Device().Alloc(device.Float32, 4)
			return c.AllReduceSum(buf)
		}, "comm: group: ranks call different collectives: rank 0 all-reduce, rank 2 barrier"},
		{"closed", func(c comm.Comm) error {
			if c.Rank() == 1 {
				return nil // closes
			}
			buf, _ := c.Device().Alloc(device.Float32, 4)
			return c.AllReduceSum(buf)
		}, "rank 1 closed its communicator"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := group(t, 3, tc.f)
			for r, err := range errs {
				if tc.name == "closed" && r == 1 {
					continue
				}
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("rank %d: %v, want %q", r, err, tc.want)
				}
			}
		})
	}
	if _, err := comm.NewGroup(nil); err == nil {
		t.Error("a group of no ranks")
	}
	errs := group(t, 2, func(c comm.Comm) error {
		if err := c.Close(); err != nil {
			return err
		}
		buf, _ := c.Device().Alloc(device.Float32, 1)
		return c.AllReduceSum(buf)
	})
	for _, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "all-reduce on a closed communicator") {
			t.Errorf("after Close: %v", err)
		}
	}
}

// AgreeAll names the first setting that differs, in Agree's words, on every rank, and
// marks it with ErrDisagree; agreeing ranks get nil.
func TestAgreeAll(t *testing.T) {
	whats := []string{"the model", "the batch size", "the data"}
	errs := group(t, 3, func(c comm.Comm) error {
		v := []string{"mlp", "32", "60000"}
		if c.Rank() == 2 {
			v[1], v[2] = "64", "59999"
		}
		return comm.AgreeAll(c, whats, v)
	})
	for r, err := range errs {
		if want := `comm: ranks disagree on the batch size: rank 0 has "32", rank 2 has "64"`; err == nil || err.Error() != want {
			t.Errorf("rank %d: %v, want %s", r, err, want)
		}
		if !errors.Is(err, comm.ErrDisagree) {
			t.Errorf("rank %d: %v does not wrap ErrDisagree", r, err)
		}
	}
	errs = group(t, 2, func(c comm.Comm) error {
		if err := comm.AgreeAll(c, whats, []string{"a", "b", "c"}); err != nil {
			return err
		}
		return comm.AgreeAll(c, whats[:c.Rank()+1], []string{"a", "b"}[:c.Rank()+1])
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "ranks disagree on the settings they check: rank 0 checks 1, rank 1 checks 2") {
			t.Errorf("rank %d: %v", r, err)
		}
	}
	if err := comm.AgreeAll(nil, whats, nil); err == nil || !strings.Contains(err.Error(), "3 names for 0 values") {
		t.Errorf("AgreeAll with mismatched lists: %v", err)
	}
}
