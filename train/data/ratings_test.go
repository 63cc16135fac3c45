package data

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadRatingsCSV(t *testing.T) {
	// A header, quoted cells, spaces, a blank line; ids that are not numbers.
	const file = "user,movie,stars,genre\n" +
		"u7, m1, 4.5, drama\n" +
		"u3,m2,1,comedy\n" +
		"\n" +
		"\"u7\",m2,3,comedy\n" +
		"u9,m1,5,drama\n"
	r, err := ReadRatingsCSV(strings.NewReader(file), "r.csv", RatingsOptions{})
	require.NoError(t, err)
	assert.Equal(t, "ratings:r.csv", r.Name)
	assert.Equal(t, 4, r.N)
	assert.Equal(t, []string{"u7", "u3", "u9"}, r.UserIDs, "dense ids in order of first appearance")
	assert.Equal(t, []string{"m1", "m2"}, r.ItemIDs)
	assert.Equal(t, []int32{0, 1, 0, 2}, r.Users)
	assert.Equal(t, []int32{0, 1, 1, 0}, r.Items)
	assert.Equal(t, []float32{4.5, 1, 3, 5}, r.Values)
	assert.Equal(t, 3, r.NumUsers())
	assert.Equal(t, 2, r.NumItems())
	assert.Equal(t, []string{"user", "movie", "stars"}, []string{r.UserColumn, r.ItemColumn, r.RatingColumn})
	require.Len(t, r.Side, 1)
	assert.Equal(t, SideField{Name: "genre", Codes: []int32{0, 1, 1, 0}, Levels: []string{"drama", "comedy"}}, r.Side[0])
	lo, hi := r.Range()
	assert.Equal(t, [2]float32{1, 5}, [2]float32{lo, hi})
	assert.InDelta(t, 13.5/4, r.Mean(), 1e-12)

	// Columns chosen by name and by number (negative from the end); no header.
	r, err = ReadRatingsCSV(strings.NewReader("stars,movie,user\n2,a,x\n4,b,y\n"), "r.csv", RatingsOptions{User: "user", Item: "movie", Rating: "stars"})
	require.NoError(t, err)
	assert.Equal(t, []float32{2, 4}, r.Values)
	assert.Equal(t, []string{"x", "y"}, r.UserIDs)
	assert.Empty(t, r.Side)
	r, err = ReadRatingsCSV(strings.NewReader("9,1,a,x\n8,2,b,y\n"), "r.csv", RatingsOptions{User: "-1", Item: "3", Rating: "2"})
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2}, r.Values)
	assert.Equal(t, []string{"x", "y"}, r.UserIDs)
	assert.Equal(t, []string{"a", "b"}, r.ItemIDs)
	assert.Equal(t, "column 4", r.UserColumn)
	require.Len(t, r.Side, 1)
	assert.Equal(t, "column 1", r.Side[0].Name)
	assert.Equal(t, []string{"9", "8"}, r.Side[0].Levels)
}

func TestReadRatingsCSVErrors(t *testing.T) {
	for _, c := range []struct {
		name, file string
		o          RatingsOptions
		want       string
	}{
		{"empty", "", RatingsOptions{}, "data: ratings: r.csv: empty file"},
		{"two columns", "u,i\n", RatingsOptions{}, "r.csv:1: 2 columns; want a user, an item and a rating column"},
		{"header only", "u,i,r\n", RatingsOptions{}, "r.csv:1: no data rows, only a header"},
		{"bad rating", "u,i,r\na,b,5\na,c,five\n", RatingsOptions{}, `r.csv:3: column 3 ("r"): rating "five" is not a number`},
		{"nan rating", "a,b,1\na,c,NaN\n", RatingsOptions{}, `r.csv:2: column 3: rating "NaN" is not finite`},
		{"huge rating", "a,b,1\na,c,1e40\n", RatingsOptions{}, `r.csv:2: column 3: rating "1e40" is outside float32's range`},
		{"empty user", "u,i,r\n,b,5\n", RatingsOptions{}, `r.csv:2: column 1 ("u"): empty cell`},
		{"empty rating", "a,b,1\na,c,\n", RatingsOptions{}, `r.csv:2: column 3: empty cell`},
		{"ragged", "u,i,r\na,b,5\na,b\n", RatingsOptions{}, "r.csv:3: 2 cells, want 3 as in line 1"},
		{"no such name", "u,i,r\na,b,5\n", RatingsOptions{Rating: "stars"}, `r.csv:1: rating column "stars" is not in the header (u, i, r)`},
		{"no such number", "a,b,5\n", RatingsOptions{Item: "7"}, "r.csv:1: item column 7 does not exist: the file has 3 columns"},
		{"same column", "a,b,5\n", RatingsOptions{User: "2"}, "r.csv:1: the user, item and rating columns must differ, got columns 2, 2 and 3"},
		{"bare quote", "a,b,5\na,b\"c,5\n", RatingsOptions{}, `data: ratings: r.csv:2:4: bare " in non-quoted-field`},
	} {
		r, err := ReadRatingsCSV(strings.NewReader(c.file), "r.csv", c.o)
		assert.Nil(t, r, c.name)
		assert.ErrorContains(t, err, c.want, c.name)
	}
}

func TestRatingsSplit(t *testing.T) {
	var b strings.Builder
	b.WriteString("user,item,rating\n")
	const n = 1003
	for i := range n {
		b.WriteString(strings.Join([]string{"u" + strconv.Itoa(i%37), "i" + strconv.Itoa(i%11), strconv.Itoa(i)}, ",") + "\n")
	}
	r, err := ReadRatingsCSV(strings.NewReader(b.String()), "r.csv", RatingsOptions{})
	require.NoError(t, err)
	train, val, test := r.Split(7)
	assert.Equal(t, 802, train.N) // floor(0.8 × 1003)
	assert.Equal(t, 100, val.N)   // floor(0.1 × 1003)
	assert.Equal(t, 101, test.N)
	// The parts are disjoint and together hold every row once; a rating is its row number.
	var all []float32
	for _, p := range []*Ratings{train, val, test} {
		require.Len(t, p.Users, p.N)
		require.Len(t, p.Items, p.N)
		assert.Equal(t, r.UserIDs, p.UserIDs, "parts share the id tables")
		for k, v := range p.Values {
			i := int(v)
			assert.Equal(t, r.Users[i], p.Users[k])
			assert.Equal(t, r.Items[i], p.Items[k])
		}
		all = append(all, p.Values...)
	}
	slices.Sort(all)
	for i, v := range all {
		require.Equal(t, float32(i), v)
	}
	// The same seed gives the same split; another seed another.
	train2, _, _ := r.Split(7)
	assert.Equal(t, train.Values, train2.Values)
	train3, _, _ := r.Split(8)
	assert.NotEqual(t, train.Values, train3.Values)
	// The order is shuffled, not the file's.
	assert.False(t, slices.IsSorted(train.Values))
}

func TestRatingsGather(t *testing.T) {
	r, err := ReadRatingsCSV(strings.NewReader("a,x,1\nb,y,2\nc,x,3\n"), "r.csv", RatingsOptions{})
	require.NoError(t, err)
	rows := []int{2, 0}
	users, items, values := make([]int32, 2), make([]int32, 2), make([]float32, 2)
	require.NoError(t, r.Gather(rows, users, items, values))
	assert.Equal(t, []int32{2, 0}, users)
	assert.Equal(t, []int32{0, 0}, items)
	assert.Equal(t, []float32{3, 1}, values)
	allocs := testing.AllocsPerRun(100, func() { _ = r.Gather(rows, users, items, values) })
	assert.Zero(t, allocs, "a batch allocates nothing")
	assert.ErrorContains(t, r.Gather([]int{3}, users[:1], items[:1], values[:1]), "row 3 outside [0, 3)")
	assert.ErrorContains(t, r.Gather(rows, users[:1], items, values), "gather 2 rows into 1 users")
}

func TestLoadRatings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a:b.csv") // the file name may hold a colon
	require.NoError(t, os.WriteFile(path, []byte("id,who,what,score\n1,u1,i1,3\n2,u2,i1,4\n"), 0o644))
	r, err := LoadRatings("ratings:" + path + ":user=who,item=what,rating=score")
	require.NoError(t, err)
	assert.Equal(t, "ratings:"+path, r.Name)
	assert.Equal(t, []float32{3, 4}, r.Values)
	assert.Equal(t, []string{"u1", "u2"}, r.UserIDs)
	assert.Equal(t, "id", r.Side[0].Name)

	for _, c := range []struct{ name, want string }{
		{"ratings:" + path + ":user=who,color=red", `unknown option "color=red"`},
		{"ratings:" + path + ":user=who,user=x", "option user= given twice"},
		{"ratings:" + path + ":rating=", "option rating= has no value"},
		{"ratings:", "no file name"},
		{"ratings:" + filepath.Join(dir, "none.csv"), "data: ratings: open " + filepath.Join(dir, "none.csv")},
		{"movielens", `unknown ratings data set "movielens"`},
	} {
		_, err := LoadRatings(c.name)
		assert.ErrorContains(t, err, c.want, c.name)
	}
	_, err = LoadInstEval(filepath.Join(dir, "insteval.csv"))
	assert.ErrorContains(t, err, "insteval.csv not found: run `make data-insteval`")

	// Load, which gives labelled examples, sends ratings and text elsewhere.
	_, err = Load("insteval", LoadOptions{})
	assert.ErrorContains(t, err, "insteval is a ratings data set (users, items, ratings), not labelled examples: read it with LoadRatings")
	_, err = Load("text:x.txt", LoadOptions{})
	assert.ErrorContains(t, err, "read it with LoadText")
}

// TestLoadInstEvalReal reads the CSV `make data-insteval` writes and checks it against
// InstEval's published size and what R reports of it (table(InstEval$y)).
func TestLoadInstEvalReal(t *testing.T) {
	path := "../../" + DefaultInstEvalFile
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not found: run `make data-insteval`", path)
	}
	r, err := LoadInstEval(path)
	require.NoError(t, err)
	assert.Equal(t, "insteval", r.Name)
	assert.Equal(t, 73421, r.N)
	assert.Equal(t, 2972, r.NumUsers())
	assert.Equal(t, 1128, r.NumItems())
	assert.Equal(t, []string{"s", "d", "y"}, []string{r.UserColumn, r.ItemColumn, r.RatingColumn})
	var side []string
	for _, f := range r.Side {
		side = append(side, f.Name+":"+strconv.Itoa(len(f.Levels)))
	}
	assert.Equal(t, []string{"studage:4", "lectage:6", "service:2", "dept:14"}, side)
	lo, hi := r.Range()
	assert.Equal(t, [2]float32{1, 5}, [2]float32{lo, hi})
	// R: table(InstEval$y) is 10186, 12951, 17609, 16921, 15754 for 1..5.
	assert.InDelta(t, float64(1*10186+2*12951+3*17609+4*16921+5*15754)/73421, r.Mean(), 1e-9)
	train, val, test := r.Split(1)
	assert.Equal(t, []int{58736, 7342, 7343}, []int{train.N, val.N, test.N})
}
