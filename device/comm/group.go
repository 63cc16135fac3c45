package comm

import (
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/gputrain/gputrain/device"
)

// NewGroup returns the Comms of a job of len(devs) ranks inside this process, rank r on
// devs[r]: goroutines take the place of processes, so that data-parallel code runs and
// is tested without a launcher or MPI. Each rank uses its Comm from its own goroutine;
// the collectives block until every rank has called the same one.
//
// AllReduceSum reads each rank's buffer to the host and adds them in rank order in
// float32, ((b₀+b₁)+b₂)+…, so every rank gets the same bits; Broadcast copies root's
// buffer; AllGather and Barrier are as in the other kinds. A collective whose ranks
// disagree (different operations, lengths or roots) fails on every rank with the same
// error. Closing a rank's Comm ends the job: the other ranks' collectives, waiting or
// later, return an error naming it, so that a rank that fails does not leave the others
// waiting forever. Abort exits the process. Its kind is "group"; it is not in the
// registry (Open), since it needs every rank's device at once.
func NewGroup(devs []device.Backend) ([]Comm, error) {
	if len(devs) == 0 {
		return nil, fmt.Errorf("comm: group: no ranks")
	}
	g := &group{n: len(devs), closedBy: -1, host: make([][]float32, len(devs)), gathered: make([][]byte, len(devs)),
		lens: make([]int, len(devs)), ops: make([]groupOp, len(devs)), roots: make([]int, len(devs))}
	g.cond = sync.NewCond(&g.mu)
	out := make([]Comm, len(devs))
	for r, d := range devs {
		if d == nil {
			return nil, fmt.Errorf("comm: group: rank %d has no device backend", r)
		}
		out[r] = &member{g: g, rank: r, dev: d}
	}
	return out, nil
}

// groupOp is a collective of a group, for its rounds and errors.
type groupOp int

const (
	gAllReduce groupOp = iota
	gBroadcast
	gAllGather
	gBarrier
)

var groupOpNames = [...]string{"all-reduce", "broadcast", "all-gather", "barrier"}

func (op groupOp) String() string { return groupOpNames[op] }

// group is the state the ranks of one in-process job share. A round of a collective
// runs under mu: each rank deposits its part (its own slot of host, gathered, lens, ops,
// roots), the last to arrive combines them into sum (or the error of the round) and
// starts the next generation. A rank reads sum after its round without the lock: sum is
// only written by the next round's combine, which waits for this rank to arrive.
type group struct {
	mu       sync.Mutex
	cond     *sync.Cond
	n        int
	arrived  int
	gen      uint64
	closedBy int // the first rank that closed its Comm, -1 while none has
	err      error
	host     [][]float32 // each rank's copy of its buffer
	sum      []float32   // the round's result
	gathered [][]byte
	all      [][]byte // AllGather's result
	lens     []int
	ops      []groupOp
	roots    []int
}

// member is one rank's Comm of a group.
type member struct {
	g      *group
	rank   int
	dev    device.Backend
	closed bool
}

var _ Comm = (*member)(nil)

func (m *member) Kind() string           { return "group" }
func (m *member) Rank() int              { return m.rank }
func (m *member) Size() int              { return m.g.n }
func (m *member) LocalRank() int         { return m.rank }
func (m *member) LocalSize() int         { return m.g.n }
func (m *member) Device() device.Backend { return m.dev }

// Describe implements Comm.
func (m *member) Describe() string {
	return fmt.Sprintf("group: rank %d of %d, in one process", m.rank, m.g.n)
}

// round runs one collective: this rank's part is already in its slots. It returns the
// round's error (the same on every rank).
func (m *member) round(op groupOp) error {
	g := m.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if m.closed {
		return fmt.Errorf("comm: group: %s on a closed communicator", op)
	}
	if g.closedBy >= 0 {
		return fmt.Errorf("comm: group: rank %d of %d: rank %d closed its communicator; %s cannot complete", m.rank, g.n, g.closedBy, op)
	}
	g.ops[m.rank] = op
	g.arrived++
	if g.arrived == g.n {
		g.err = g.combine()
		g.arrived = 0
		g.gen++
		g.cond.Broadcast()
		return g.err
	}
	gen := g.gen
	for g.gen == gen && g.closedBy < 0 {
		g.cond.Wait()
	}
	if g.gen == gen {
		g.arrived--
		return fmt.Errorf("comm: group: rank %d of %d: rank %d closed its communicator while this rank waits in %s", m.rank, g.n, g.closedBy, op)
	}
	return g.err
}

// combine computes the round's result once every rank has deposited its part.
func (g *group) combine() error {
	op := g.ops[0]
	for r := 1; r < g.n; r++ {
		if g.ops[r] != op {
			return fmt.Errorf("comm: group: ranks call different collectives: rank 0 %s, rank %d %s", op, r, g.ops[r])
		}
	}
	switch op {
	case gAllReduce, gBroadcast:
		for r := 1; r < g.n; r++ {
			if g.lens[r] != g.lens[0] {
				return fmt.Errorf("comm: group: %s of different lengths: rank 0 has %d elements, rank %d has %d", op, g.lens[0], r, g.lens[r])
			}
			if op == gBroadcast && g.roots[r] != g.roots[0] {
				return fmt.Errorf("comm: group: broadcast from different roots: rank 0 names %d, rank %d names %d", g.roots[0], r, g.roots[r])
			}
		}
		n := g.lens[0]
		if cap(g.sum) < n {
			g.sum = make([]float32, n)
		}
		g.sum = g.sum[:n]
		if op == gBroadcast {
			copy(g.sum, g.host[g.roots[0]][:n])
			return nil
		}
		copy(g.sum, g.host[0][:n])
		for r := 1; r < g.n; r++ {
			for i, v := range g.host[r][:n] {
				g.sum[i] += v
			}
		}
	case gAllGather:
		g.all = make([][]byte, g.n)
		for r, p := range g.gathered {
			g.all[r] = slices.Clone(p)
		}
	}
	return nil
}

// stage reads buf into this rank's host slot (grown once to the longest buffer).
func (m *member) stage(buf device.Buffer, read bool) ([]float32, error) {
	n := buf.Len()
	h := m.g.host[m.rank] // only this rank writes its slot
	if cap(h) < n {
		h = make([]float32, n)
		m.g.mu.Lock()
		m.g.host[m.rank] = h
		m.g.mu.Unlock()
	}
	h = h[:n]
	if read {
		if err := m.dev.ReadFloat32(h, buf); err != nil {
			return nil, err
		}
	}
	m.g.lens[m.rank] = n
	return h, nil
}

// AllReduceSum implements Comm.
func (m *member) AllReduceSum(buf device.Buffer) error {
	if err := CheckFloat32("all-reduce", buf); err != nil {
		return err
	}
	if _, err := m.stage(buf, true); err != nil {
		return fmt.Errorf("comm: group all-reduce: %w", err)
	}
	if err := m.round(gAllReduce); err != nil {
		return err
	}
	return m.dev.WriteFloat32(buf, m.g.sum[:buf.Len()])
}

// Broadcast implements Comm.
func (m *member) Broadcast(buf device.Buffer, root int) error {
	if err := CheckFloat32("broadcast", buf); err != nil {
		return err
	}
	if err := CheckRoot("broadcast", root, m.g.n); err != nil {
		return err
	}
	if _, err := m.stage(buf, m.rank == root); err != nil {
		return fmt.Errorf("comm: group broadcast: %w", err)
	}
	m.g.roots[m.rank] = root
	if err := m.round(gBroadcast); err != nil {
		return err
	}
	if m.rank == root {
		return nil
	}
	return m.dev.WriteFloat32(buf, m.g.sum[:buf.Len()])
}

// AllGather implements Comm.
func (m *member) AllGather(p []byte) ([][]byte, error) {
	m.g.mu.Lock()
	m.g.gathered[m.rank] = slices.Clone(p)
	m.g.mu.Unlock()
	if err := m.round(gAllGather); err != nil {
		return nil, err
	}
	out := make([][]byte, m.g.n)
	for r, b := range m.g.all {
		out[r] = slices.Clone(b)
	}
	return out, nil
}

// Barrier implements Comm.
func (m *member) Barrier() error { return m.round(gBarrier) }

// Abort implements Comm: it exits the process (every rank is in it).
func (m *member) Abort(code int) { os.Exit(code) }

// Close implements Comm: the other ranks' collectives fail from now on, naming this
// rank, unless every rank has closed.
func (m *member) Close() error {
	g := m.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if g.closedBy < 0 {
		g.closedBy = m.rank
	}
	g.cond.Broadcast()
	return nil
}
