package version

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// semver.org's precedence example (section 11), then Go's pseudo-versions, build
// metadata and numeric fields wider than one digit.
func TestCompareOrders(t *testing.T) {
	ordered := []string{
		"v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta", "v1.0.0-beta", "v1.0.0-beta.2", "v1.0.0-beta.11",
		"v1.0.0-rc.1", "v1.0.0", "v1.0.1", "v1.2.0",
		"v1.2.1-0.20250101000000-aaaaaaaaaaaa", "v1.2.1-0.20251205103000-2ffbc15a1b2c", "v1.2.1", "v1.10.0", "v2.0.0",
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			assert.Equal(t, want, Compare(a, b), "Compare(%s, %s)", a, b)
		}
	}
	assert.Equal(t, 0, Compare("v1.2.3+dirty", "v1.2.3"), "build metadata is ignored")
	assert.Equal(t, -1, Compare("v0.0.0-20250101000000-aaaaaaaaaaaa", "v0.0.0-20251205103000-2ffbc15a1b2c+dirty"))
	assert.Equal(t, -1, Compare(Unknown, "v0.0.0-20250101000000-aaaaaaaaaaaa"), "a development build is never newer")
	assert.Equal(t, 1, Compare("v0.1.0", ""))
	assert.Equal(t, 0, Compare(Unknown, "garbage"))
}

func TestValid(t *testing.T) {
	for _, v := range []string{"v0.0.0", "v1.2.3", "v10.20.30", "v1.2.3-rc.1", "v1.2.3-0.20251205103000-2ffbc15a1b2c+dirty", "v1.0.0+build.7"} {
		assert.True(t, Valid(v), v)
	}
	for _, v := range []string{"", Unknown, "1.2.3", "v1.2", "v1.2.3.4", "v01.2.3", "v1.2.3-", "v1.2.3-01", "v1.2.3-a..b", "v1.2.3+", "v1.2.3-a_b", "vx.2.3"} {
		assert.False(t, Valid(v), v)
	}
}

func TestGetReadsTheBuild(t *testing.T) {
	defer func(f func() (*debug.BuildInfo, bool)) { readBuildInfo = f }(readBuildInfo)
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: Module, Version: "v0.0.0-20251205103000-2ffbc15a1b2c+dirty"},
			Settings: []debug.BuildSetting{{Key: "-tags", Value: "cuda"}, {Key: "vcs.revision", Value: "2ffbc15a1b2c0000"},
				{Key: "vcs.time", Value: "2025-12-05T10:30:00Z"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	i := Get()
	assert.Equal(t, Info{Version: "v0.0.0-20251205103000-2ffbc15a1b2c+dirty", Commit: "2ffbc15a1b2c0000", Time: "2025-12-05T10:30:00Z",
		Modified: true, Tags: "cuda", Go: "go1.26.8", Platform: i.Platform}, i)
	assert.Equal(t, "gputrain v0.0.0-20251205103000-2ffbc15a1b2c+dirty\ncommit   2ffbc15a1b2c0000 (2025-12-05T10:30:00Z), with uncommitted changes\n"+
		"tags     cuda\ngo       go1.26.8 "+i.Platform, i.String())
	assert.Equal(t, i.Version, Version())

	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: Module, Version: "(devel)"}}, true
	}
	assert.Equal(t, "gputrain (devel)\ncommit   unknown\ntags     none\ngo       go1.26.8 "+i.Platform, Get().String())
	readBuildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	assert.Equal(t, Unknown, Version())
}
