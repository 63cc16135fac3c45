package main

// Numeric flags declare the values they accept where they are defined:
//
//	intFlag(fs, &o.epochs, "epochs", 10, atLeast(1), "number of epochs")
//	floatFlag(fs, &o.lr, "lr", 0, above(0).absentMeans("the optimizer's default"), "learning rate")
//	intFlag(fs, &o.threads, "threads", 0, atLeast(1).orZero("all cores"), "CPU threads")
//
// The flag's Set refuses a value that is not a number, NaN, ±Inf and values outside the
// range, with an error that names the flag and states the range; -help prints the
// range after the usage. A 0 that stands for something else is declared too: orZero
// (an explicit 0 means it, as for -threads 0: all cores) or absentMeans (the default is
// a placeholder 0; given explicitly, 0 is refused, so that -lr 0 cannot be taken for a
// learning rate of zero).
//
// parseArgs, which every command's parsing goes through, also refuses NaN and ±Inf for
// any float flag defined without a range (fs.Float64Var), and TestNumericFlags fails
// for every numeric flag of every command (commandFlagSets) that declares no range.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// bounds is the range of values a numeric flag accepts.
type bounds struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loOpen, hiOpen bool // the bound itself is excluded
	// zero is what 0 stands for when the range excludes it ("all cores"); zeroAbsent
	// says that only the default may be 0 (an explicit 0 is refused).
	zero       string
	zeroAbsent bool
}

// atLeast is [v, ∞).
func atLeast(v float64) bounds { return bounds{lo: v, hasLo: true} }

// above is (v, ∞).
func above(v float64) bounds { return bounds{lo: v, hasLo: true, loOpen: true} }

// between is [lo, hi].
func between(lo, hi float64) bounds { return bounds{lo: lo, hi: hi, hasLo: true, hasHi: true} }

// below excludes hi and everything above it.
func (b bounds) below(hi float64) bounds { b.hi, b.hasHi, b.hiOpen = hi, true, true; return b }

// orZero also accepts 0, meaning what.
func (b bounds) orZero(what string) bounds { b.zero = what; return b }

// absentMeans says that the flag's default, 0, means what: an explicit 0 is refused.
func (b bounds) absentMeans(what string) bounds { b.zero, b.zeroAbsent = what, true; return b }

// String states the range: "> 0", ">= 1, or 0: all cores", "in [0, 1)".
func (b bounds) String() string {
	var s string
	switch {
	case b.hasLo && b.hasHi:
		l, r := "[", "]"
		if b.loOpen {
			l = "("
		}
		if b.hiOpen {
			r = ")"
		}
		s = fmt.Sprintf("in %s%v, %v%s", l, b.lo, b.hi, r)
	case b.hasLo && b.loOpen:
		s = fmt.Sprintf("> %v", b.lo)
	case b.hasLo:
		s = fmt.Sprintf(">= %v", b.lo)
	case b.hasHi && b.hiOpen:
		s = fmt.Sprintf("< %v", b.hi)
	case b.hasHi:
		s = fmt.Sprintf("<= %v", b.hi)
	default:
		s = "any finite number"
	}
	switch {
	case b.zero != "" && b.zeroAbsent:
		s += "; when not given: " + b.zero
	case b.zero != "":
		s += ", or 0: " + b.zero
	}
	return s
}

// check reports whether v, given explicitly, is in the range.
func (b bounds) check(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("not a finite number (want %s)", b)
	}
	if v == 0 && b.zero != "" {
		if b.zeroAbsent {
			return fmt.Errorf("0 is not accepted (want %s)", b)
		}
		return nil
	}
	if (b.hasLo && (v < b.lo || (b.loOpen && v == b.lo))) || (b.hasHi && (v > b.hi || (b.hiOpen && v == b.hi))) {
		return fmt.Errorf("out of range (want %s)", b)
	}
	return nil
}

// rangedFlag is a numeric flag.Value with its range.
type rangedFlag interface {
	flag.Getter
	bounds() bounds
	integer() bool
}

type intValue struct {
	p *int
	b bounds
}

func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, strconv.IntSize)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("out of range (want %s)", v.b)
		}
		return fmt.Errorf("not a whole number (want %s)", v.b)
	}
	if err := v.b.check(float64(n)); err != nil {
		return err
	}
	*v.p = int(n)
	return nil
}

func (v *intValue) String() string {
	if v == nil || v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v *intValue) Get() any       { return *v.p }
func (v *intValue) bounds() bounds { return v.b }
func (v *intValue) integer() bool  { return true }

type floatValue struct {
	p *float64
	b bounds
}

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("not a number (want %s)", v.b)
	}
	if err := v.b.check(f); err != nil { // ±Inf from an overflow ("1e999") included
		return err
	}
	*v.p = f
	return nil
}

func (v *floatValue) String() string {
	if v == nil || v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v *floatValue) Get() any       { return *v.p }
func (v *floatValue) bounds() bounds { return v.b }
func (v *floatValue) integer() bool  { return false }

type uintValue struct {
	p *uint64
	b bounds
}

func (v *uintValue) Set(s string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("not a whole number from 0 to %d (want %s)", uint64(math.MaxUint64), v.b)
	}
	if err := v.b.check(float64(n)); err != nil {
		return err
	}
	*v.p = n
	return nil
}

func (v *uintValue) String() string {
	if v == nil || v.p == nil {
		return "0"
	}
	return strconv.FormatUint(*v.p, 10)
}

func (v *uintValue) Get() any       { return *v.p }
func (v *uintValue) bounds() bounds { return v.b }
func (v *uintValue) integer() bool  { return true }

// rangedUsage is usage with the range after it: "number of epochs: an int >= 1", the
// type named for -help (flag.UnquoteUsage) unless usage names the value itself
// ("`N`").
func rangedUsage(usage, article, kind string, b bounds) string {
	if strings.Contains(usage, "`") {
		return usage + " (" + b.String() + ")"
	}
	return usage + ": " + article + " `" + kind + "` " + b.String()
}

// intFlag defines an int flag that accepts b's values.
func intFlag(fs *flag.FlagSet, p *int, name string, value int, b bounds, usage string) {
	*p = value
	fs.Var(&intValue{p, b}, name, rangedUsage(usage, "an", "int", b))
}

// floatFlag defines a float64 flag that accepts b's values (never NaN or ±Inf).
func floatFlag(fs *flag.FlagSet, p *float64, name string, value float64, b bounds, usage string) {
	*p = value
	fs.Var(&floatValue{p, b}, name, rangedUsage(usage, "a", "float", b))
}

// uintFlag defines a uint64 flag that accepts b's values.
func uintFlag(fs *flag.FlagSet, p *uint64, name string, value uint64, b bounds, usage string) {
	*p = value
	fs.Var(&uintValue{p, b}, name, rangedUsage(usage, "a", "uint", b))
}

// newFlagSet is a command's flag set: errors returned, nothing printed.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses args into fs: -help prints usage (the first line) and the flags
// on stdout and returns flag.ErrHelp; a bad flag, a float flag's non-finite value (of
// any float flag, ranged or not) and a stray argument are usage errors naming them.
func parseArgs(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
			return err
		}
		return usageError{err.Error()}
	}
	var bad error
	fs.Visit(func(f *flag.Flag) {
		if g, ok := f.Value.(flag.Getter); ok && bad == nil {
			if v, ok := g.Get().(float64); ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
				bad = usageError{fmt.Sprintf("invalid value %q for flag -%s: not a finite number", f.Value, f.Name)}
			}
		}
	})
	if bad != nil {
		return bad
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (flags only; see -h)", fs.Arg(0))}
	}
	return nil
}

// sizeBounds is the range of a memory size flag: bytes > 0, absent for the device's
// own figure.
var sizeBounds = above(0).absentMeans("what the device reports free")

// sizeUnits are the units a size may have, in bytes: decimal (kB, MB, GB, TB, as
// disks and GPU data sheets count) and binary (KiB, MiB, GiB, TiB).
var sizeUnits = map[string]float64{"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
	"t": 1e12, "tb": 1e12, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}

// sizeValue is a memory size in bytes, written "16GB", "512MiB", "1.5e9".
type sizeValue struct{ p *int64 }

func (v *sizeValue) Set(s string) error {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool {
		return (r < '0' || r > '9') && r != '.' && r != 'e' && r != 'E' && r != '+' && r != '-'
	})
	num, unit := t, ""
	if i >= 0 {
		num, unit = strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return fmt.Errorf("not a size such as 16GB or 512MiB (want %s)", sizeBounds)
	}
	b := f * mult
	if err := sizeBounds.check(b); err != nil {
		return err
	}
	if b < 1 || b >= 1<<63 {
		return fmt.Errorf("out of range (want %s, from 1 byte to 8 EiB)", sizeBounds)
	}
	*v.p = int64(b)
	return nil
}

func (v *sizeValue) String() string {
	if v == nil || v.p == nil {
		return "0"
	}
	return strconv.FormatInt(*v.p, 10)
}

func (v *sizeValue) Get() any       { return *v.p }
func (v *sizeValue) bounds() bounds { return sizeBounds }
func (v *sizeValue) integer() bool  { return false } // "1.5GB"
