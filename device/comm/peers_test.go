//go:build unix

package comm

import (
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

func TestPeerString(t *testing.T) {
	me := self()
	if me.Host == "" || me.PID <= 0 {
		t.Fatalf("self() = %+v", me)
	}
	p, err := parsePeer(me.String())
	if err != nil || p != me {
		t.Errorf("parsePeer(%q) = %+v, %v; want %+v", me.String(), p, err, me)
	}
	for _, bad := range []string{"", "host pid:[1]", "host pid:[1] x", "host pid:[1] -4", "a b c d"} {
		if _, err := parsePeer(bad); err == nil {
			t.Errorf("parsePeer(%q): no error", bad)
		}
	}
}

// A rank's process that has ended is found, whether its parent has collected it yet
// (gone) or not (a zombie); one on another host, or one that still runs, is not.
func TestLostRanks(t *testing.T) {
	me := self()
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot start sleep: %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	live, dead := start(), start()
	at := func(host string, pid int) peer { return peer{Host: host, PIDNS: me.PIDNS, PID: pid} }
	peers := []peer{me, at(me.Host, live.Process.Pid), at(me.Host, dead.Process.Pid), at(me.Host+"-other", dead.Process.Pid)}
	for _, zombies := range []bool{false, true} {
		if lost := lostRanks(peers, me, zombies); len(lost) != 0 {
			t.Fatalf("every process runs, lost %v", lost)
		}
	}
	if a := testing.AllocsPerRun(10, func() { lostRanks(peers, me, false) }); a != 0 {
		t.Errorf("the quick check allocates %v times", a)
	}
	dead.Process.Signal(syscall.SIGKILL)
	// not collected yet: a zombie (give the kernel a moment to turn it into one), which
	// only the check that reads /proc sees
	for i := 0; i < 1000 && !gone(dead.Process.Pid, true); i++ {
		syscall.Select(0, nil, nil, nil, &syscall.Timeval{Usec: 1000})
	}
	if lost := lostRanks(peers, me, true); !slices.Equal(lost, []int{2}) {
		t.Errorf("killed, not collected: lost %v, want [2]", lost)
	}
	if lost := lostRanks(peers, me, false); len(lost) != 0 {
		t.Errorf("killed, not collected, zombies not counted: lost %v, want none", lost)
	}
	dead.Wait()
	for _, zombies := range []bool{false, true} {
		if lost := lostRanks(peers, me, zombies); !slices.Equal(lost, []int{2}) {
			t.Errorf("killed and collected (zombies %v): lost %v, want [2]", zombies, lost)
		}
	}
	if got, want := describeLost(peers, []int{2}), "rank 2 (pid "+strconv.Itoa(dead.Process.Pid)+" on "+me.Host+")"; got != want {
		t.Errorf("describeLost: %q, want %q", got, want)
	}
	// a peer in another pid namespace cannot be checked
	peers[2].PIDNS = "pid:[1]"
	if lost := lostRanks(peers, me, true); len(lost) != 0 {
		t.Errorf("other namespace: lost %v", lost)
	}
}
