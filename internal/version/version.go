// Package version says what this binary is: the module's version, the commit it was
// built from (and whether the tree had changes), the build tags, as the Go toolchain
// records them in the binary (runtime/debug.ReadBuildInfo). `go build` and
// `go install` in a git checkout stamp the version from the repository: the tag at
// HEAD (v1.2.3), else a pseudo-version (v0.0.0-20251205103000-2ffbc15a1b2c), with
// "+dirty" when the tree has changes; `go install module@version` stamps that
// version. `go run` and test binaries carry "(devel)" or nothing.
//
// A checkpoint records Version() and compares versions with Compare.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Module is gputrain's module path.
const Module = "github.com/gputrain/gputrain"

// Unknown is the version of a binary without one (go run, tests, -buildvcs=false).
const Unknown = "(devel)"

// Info is what the build recorded.
type Info struct {
	// Version is the main module's version: a semantic version, a pseudo-version, or
	// Unknown.
	Version string
	// Commit is the VCS revision ("" when not recorded); Time its commit time (RFC 3339);
	// Modified whether the working tree had uncommitted changes.
	Commit   string
	Time     string
	Modified bool
	// Tags are the build tags (-tags), comma-separated, "" for none.
	Tags string
	// Go is the toolchain version; Platform GOOS/GOARCH.
	Go, Platform string
}

// readBuildInfo is debug.ReadBuildInfo; tests replace it.
var readBuildInfo = debug.ReadBuildInfo

// Get returns what the running binary's build recorded.
func Get() Info {
	i := Info{Version: Unknown, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := readBuildInfo()
	if !ok {
		return i
	}
	if v := bi.Main.Version; v != "" && v != Unknown {
		i.Version = v
	}
	if bi.GoVersion != "" {
		i.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		case "-tags":
			i.Tags = s.Value
		}
	}
	return i
}

// Version is the running binary's module version (Info.Version).
func Version() string { return Get().Version }

// String is the version line of `gputrain -version`, then one line each for the
// commit, the build tags and the toolchain.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gputrain %s\n", i.Version)
	commit := i.Commit
	if commit == "" {
		commit = "unknown"
	}
	if i.Time != "" {
		commit += " (" + i.Time + ")"
	}
	if i.Modified {
		commit += ", with uncommitted changes"
	}
	fmt.Fprintf(&b, "commit   %s\n", commit)
	tags := i.Tags
	if tags == "" {
		tags = "none"
	}
	fmt.Fprintf(&b, "tags     %s\n", tags)
	fmt.Fprintf(&b, "go       %s %s", i.Go, i.Platform)
	return b.String()
}

// semver is a parsed semantic version.
type semver struct {
	major, minor, patch uint64
	pre                 []string // dot-separated pre-release identifiers
}

// parse reads vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (Go's module versions, pseudo
// versions included).
func parse(v string) (semver, bool) {
	var s semver
	if !strings.HasPrefix(v, "v") {
		return s, false
	}
	v = v[1:]
	if i := strings.IndexByte(v, '+'); i >= 0 {
		if !validIdents(v[i+1:], false) {
			return s, false
		}
		v = v[:i]
	}
	core, pre, hasPre := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return s, false
	}
	nums := []*uint64{&s.major, &s.minor, &s.patch}
	for k, p := range parts {
		if !numeric(p) || (len(p) > 1 && p[0] == '0') {
			return s, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return s, false
		}
		*nums[k] = n
	}
	if hasPre {
		if !validIdents(pre, true) {
			return s, false
		}
		s.pre = strings.Split(pre, ".")
	}
	return s, true
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-], none empty; in a
// pre-release a numeric one has no leading zero.
func validIdents(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for _, c := range id {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
		if pre && numeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// Valid reports whether v is a semantic version with a leading "v" (v1.2.3,
// v1.2.3-rc.1, v0.0.0-20251205103000-2ffbc15a1b2c+dirty); Unknown is not.
func Valid(v string) bool {
	_, ok := parse(v)
	return ok
}

// Compare orders two versions by semantic-version precedence: -1 if a < b, 0 if they
// are equal (build metadata, "+dirty", is ignored), +1 if a > b. A pre-release comes
// before its release (v1.2.0-rc.1 < v1.2.0); pseudo-versions order by their commit
// time. An invalid version (Unknown) orders before every valid one and equals another
// invalid one, so that a development build is never "newer".
func Compare(a, b string) int {
	x, okA := parse(a)
	y, okB := parse(b)
	switch {
	case !okA && !okB:
		return 0
	case !okA:
		return -1
	case !okB:
		return 1
	}
	for _, d := range [][2]uint64{{x.major, y.major}, {x.minor, y.minor}, {x.patch, y.patch}} {
		if d[0] != d[1] {
			return cmpUint(d[0], d[1])
		}
	}
	switch {
	case len(x.pre) == 0 && len(y.pre) == 0:
		return 0
	case len(x.pre) == 0:
		return 1
	case len(y.pre) == 0:
		return -1
	}
	for k := 0; k < len(x.pre) && k < len(y.pre); k++ {
		if c := cmpIdent(x.pre[k], y.pre[k]); c != 0 {
			return c
		}
	}
	return cmpUint(uint64(len(x.pre)), uint64(len(y.pre)))
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpIdent compares pre-release identifiers: numeric ones by value, below
// alphanumeric ones, which compare in ASCII order.
func cmpIdent(a, b string) int {
	na, nb := numeric(a), numeric(b)
	switch {
	case na && nb:
		if len(a) != len(b) {
			return cmpUint(uint64(len(a)), uint64(len(b)))
		}
		return strings.Compare(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}
