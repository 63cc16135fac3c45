//go:build unix

package comm

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// peer is where one rank runs: its host, the process-id namespace it sees pids in, and
// its pid. Two ranks with the same host and namespace can see whether the other is alive.
type peer struct {
	Host  string
	PIDNS string
	PID   int
}

// self describes this process as a peer.
func self() peer {
	host, _ := os.Hostname()
	ns, err := os.Readlink("/proc/self/ns/pid") // "pid:[4026531836]"
	if err != nil {
		ns = "-" // no /proc: unknown, the same for every rank
	}
	return peer{Host: host, PIDNS: ns, PID: os.Getpid()}
}

func (p peer) String() string { return fmt.Sprintf("%s %s %d", p.Host, p.PIDNS, p.PID) }

func parsePeer(s string) (peer, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return peer{}, fmt.Errorf("malformed peer %q", s)
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil || pid <= 0 {
		return peer{}, fmt.Errorf("malformed peer %q", s)
	}
	return peer{Host: f[0], PIDNS: f[1], PID: pid}, nil
}

// visible reports whether this process can check p's liveness: same host and the same
// process-id namespace (where /proc does not say, "-" on both: the same host is then
// taken as the same namespace).
func (p peer) visible(me peer) bool {
	return p.Host == me.Host && p.PIDNS == me.PIDNS
}

// gone reports whether process pid has ended: it no longer exists (kill(pid, 0) says
// ESRCH, allocating nothing), or, with zombies, it is a zombie that its parent has not
// collected yet (read from /proc, which allocates).
func gone(pid int, zombies bool) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	if !zombies {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, so read after the last ')'
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// lostRanks returns the ranks among peers (indexed by rank) that run on this machine,
// in this process-id namespace, and have ended (zombies included with zombies). Ranks
// elsewhere cannot be checked. It allocates nothing while every rank runs and zombies
// is false.
func lostRanks(peers []peer, me peer, zombies bool) []int {
	var lost []int
	for r, p := range peers {
		if p.PID != me.PID && p.visible(me) && gone(p.PID, zombies) {
			lost = append(lost, r)
		}
	}
	return lost
}

// describeLost names the lost ranks for a message: "rank 1 (pid 4242)".
func describeLost(peers []peer, lost []int) string {
	parts := make([]string, len(lost))
	for i, r := range lost {
		parts[i] = fmt.Sprintf("rank %d (pid %d on %s)", r, peers[r].PID, peers[r].Host)
	}
	return strings.Join(parts, ", ")
}
