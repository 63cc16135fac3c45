package main

import (
	"bytes"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commandFlagSets are the flag sets of gputrain's commands, by the arguments that
// start each ("" for training). A new command adds its own here, so that its numeric
// flags are held to the same rules.
var commandFlagSets = map[string]func() *flag.FlagSet{
	"":          func() *flag.FlagSet { return trainFlagSet(&options{}) },
	"predict":   func() *flag.FlagSet { return predictFlagSet(&predictFlags{}) },
	"export":    func() *flag.FlagSet { return exportFlagSet(&exportFlags{}) },
	"recommend": func() *flag.FlagSet { return recommendFlagSet(&recommendFlags{}) },
}

// numeric reports whether a flag takes a number: a ranged flag, or a flag package
// value of a numeric type.
func numeric(f *flag.Flag) bool {
	if _, ok := f.Value.(rangedFlag); ok {
		return true
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	switch g.Get().(type) {
	case int, int64, uint, uint64, float64, time.Duration:
		return true
	}
	return false
}

// Every numeric flag of every command declares its range (flags.go), refuses NaN,
// ±Inf, overflowing and out-of-range values with exit status 2 and one line that names
// the flag and states the range, accepts the values at its bounds, and says in -help
// what values it takes, 0 included where 0 stands for something else; a 0 that stands
// for the default cannot be given explicitly.
func TestNumericFlags(t *testing.T) {
	count := 0
	for cmd, mk := range commandFlagSets {
		var help, errb bytes.Buffer
		require.Equal(t, 0, run(args(cmd, "-h"), &help, &errb), errb.String())
		mk().VisitAll(func(f *flag.Flag) {
			if !numeric(f) {
				return
			}
			count++
			name := strings.TrimSpace(cmd + " -" + f.Name)
			t.Run(name, func(t *testing.T) {
				r, ok := f.Value.(rangedFlag)
				require.True(t, ok, "%s takes a number but declares no range: define it with intFlag, floatFlag or uintFlag (flags.go)", name)
				b := r.bounds()
				assert.Contains(t, help.String(), "-"+f.Name+" ", "-help lists it")
				assert.Contains(t, help.String(), b.String(), "-help states its range")
				bad := []string{"NaN", "nan", "Inf", "-Inf", "+Inf", "1e999", "", "x"}
				if r.integer() {
					bad = append(bad, "1.5", "99999999999999999999999")
				}
				if b.hasLo {
					lo := b.lo - 1
					if b.loOpen {
						lo = b.lo
					}
					if !(lo == 0 && b.zero != "" && !b.zeroAbsent) {
						bad = append(bad, fmt.Sprint(lo))
					}
				}
				if b.hasHi {
					hi := b.hi + 1
					if b.hiOpen {
						hi = b.hi
					}
					bad = append(bad, fmt.Sprint(hi))
				}
				if b.zeroAbsent {
					bad = append(bad, "0")
				}
				for _, v := range bad {
					var out, errb bytes.Buffer
					assert.Equal(t, 2, run(args(cmd, "-"+f.Name, v), &out, &errb), "-%s %q", f.Name, v)
					msg := errb.String()
					assert.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
					assert.Contains(t, msg, fmt.Sprintf("invalid value %q for flag -%s: ", v, f.Name))
					assert.Contains(t, msg, b.String(), "the message states the range")
				}
				good := []string{}
				if b.hasLo {
					good = append(good, fmt.Sprint(b.lo+map[bool]float64{true: 1, false: 0}[b.loOpen]))
				}
				if b.hasHi && !b.hiOpen {
					good = append(good, fmt.Sprint(b.hi))
				}
				if b.zero != "" && !b.zeroAbsent {
					good = append(good, "0")
					assert.Contains(t, help.String(), "or 0: "+b.zero, "-help says what 0 means")
				}
				if b.zeroAbsent {
					assert.Contains(t, help.String(), "when not given: "+b.zero, "-help says what leaving it out means")
				}
				for _, v := range good {
					assert.NoError(t, mk().Set(f.Name, v), "-%s %s is in range", f.Name, v)
				}
			})
		})
	}
	assert.Greater(t, count, 20, "the numeric flags found")
}

func args(cmd string, more ...string) []string {
	if cmd == "" {
		return more
	}
	return append([]string{cmd}, more...)
}

// A float flag defined without a range (fs.Float64Var) still refuses NaN and ±Inf.
func TestUndeclaredFloatFlagRefusesNonFinite(t *testing.T) {
	fs := newFlagSet("x")
	fs.Float64("rate", 1, "a rate")
	for _, v := range []string{"NaN", "Inf", "-Inf"} {
		err := parseArgs(fs, []string{"-rate", v}, "usage", &bytes.Buffer{})
		assert.ErrorContains(t, err, "for flag -rate: not a finite number", v)
	}
	assert.NoError(t, parseArgs(fs, []string{"-rate", "0.5"}, "usage", &bytes.Buffer{}))
}

// Sizes: decimal and binary units, refused when not positive and finite.
func TestMaxMemorySizes(t *testing.T) {
	for in, want := range map[string]int64{"16GB": 16e9, "16g": 16e9, "512MiB": 512 << 20, "1.5e9": 1.5e9, "1 TB": 1e12,
		"4096": 4096, "2kib": 2048} {
		var n int64
		require.NoError(t, (&sizeValue{&n}).Set(in), in)
		assert.Equal(t, want, n, in)
	}
	for _, in := range []string{"0", "-1GB", "NaN", "Inf", "1e999", "12 parsecs", "GB", "0.1"} {
		var n int64
		assert.Error(t, (&sizeValue{&n}).Set(in), in)
	}
}
