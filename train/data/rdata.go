package data

import (
	"encoding/binary"
	"fmt"
	"math"
)

// RType is the type of a decoded R object: R's SEXPTYPE code for the types the R reader
// knows.
type RType uint8

// The R types DecodeRSerialization returns.
const (
	RNull     RType = 0  // NULL
	RSymbol   RType = 1  // a symbol (Name); pairlist tags and attribute names are symbols
	RPairlist RType = 2  // a pairlist (Items, with Tags)
	RLogical  RType = 10 // a logical vector (Ints: 1 true, 0 false, RNAInt NA)
	RInt      RType = 13 // an integer vector (Ints; RNAInt is NA); also factors
	RReal     RType = 14 // a double vector (Reals; NA is a NaN, see IsRNAReal)
	RString   RType = 16 // a character vector (Strings, NA where StringNA is true)
	RList     RType = 19 // a generic vector, list() (Items); also data frames
	RRaw      RType = 24 // a raw vector (Raw)
)

// The serialized type codes that are not RTypes: element strings, and the special
// values and back-references of the stream (R Internals, "Serialization Formats").
const (
	rCharSXP     = 9   // CHARSXP: one string of a character vector or a symbol's name
	rAltrepSXP   = 238 // ALTREP_SXP: a compact or wrapped vector (class, state, attributes)
	rRefSXP      = 255 // REFSXP: a back-reference to an earlier symbol or environment
	rNilValueSXP = 254 // NILVALUE_SXP: NULL
)

// RNAInt is R's NA in integer, logical and factor vectors: the smallest int32.
const RNAInt = math.MinInt32

// IsRNAReal reports whether v is R's NA_real_: a NaN whose low 32 bits are 1954 (any
// other NaN is R's NaN).
func IsRNAReal(v float64) bool {
	return math.IsNaN(v) && uint32(math.Float64bits(v)) == 1954
}

// RObject is one decoded R object of the subset the reader knows: NULL, symbols,
// pairlists, logical, integer, double, character, raw vectors and lists, each with its
// attributes. Compact integer sequences and wrapped vectors (ALTREP) are expanded into
// the plain vectors they stand for.
type RObject struct {
	Type RType
	// Name is a symbol's name.
	Name string
	// Ints holds an integer or logical vector (RNAInt is NA).
	Ints []int32
	// Reals holds a double vector (NA_real_ is a NaN, IsRNAReal).
	Reals []float64
	// Strings holds a character vector as UTF-8 (Latin-1 strings are converted); an NA
	// element is "" with StringNA set.
	Strings []string
	// StringNA marks the NA elements of Strings; nil when there are none.
	StringNA []bool
	// Raw holds a raw vector.
	Raw []byte
	// Items holds the elements of a list or the values of a pairlist.
	Items []*RObject
	// Tags holds the tag (name) of each pairlist value, "" for none.
	Tags []string
	// Attrs are the attributes (names, class, levels, row.names, ...) in stream order.
	Attrs []RAttr
	// at is the offset of the object's flags word in the stream it was decoded from.
	at int
	// tail is the final CDR of a dotted pair (a pairlist ending in neither NULL nor a
	// pairlist), as ALTREP wrappers store their state; nil for a proper pairlist.
	tail *RObject
}

// RAttr is one attribute of an R object: its name and value.
type RAttr struct {
	Name  string
	Value *RObject
}

// Len is the number of elements of a vector, list or pairlist, 0 for NULL and 1 for a
// symbol.
func (o *RObject) Len() int {
	switch o.Type {
	case RLogical, RInt:
		return len(o.Ints)
	case RReal:
		return len(o.Reals)
	case RString:
		return len(o.Strings)
	case RRaw:
		return len(o.Raw)
	case RList, RPairlist:
		return len(o.Items)
	case RSymbol:
		return 1
	}
	return 0
}

// Attr returns the attribute called name, or nil.
func (o *RObject) Attr(name string) *RObject {
	for _, a := range o.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return nil
}

// Class returns the class attribute (a character vector), or nil.
func (o *RObject) Class() []string {
	if c := o.Attr("class"); c != nil && c.Type == RString {
		return c.Strings
	}
	return nil
}

// Inherits reports whether class is one of o's classes.
func (o *RObject) Inherits(class string) bool {
	for _, c := range o.Class() {
		if c == class {
			return true
		}
	}
	return false
}

// Names returns the names attribute of a vector or list (a character vector), or the tags
// of a pairlist; nil when there are none.
func (o *RObject) Names() []string {
	if o.Type == RPairlist {
		return o.Tags
	}
	if n := o.Attr("names"); n != nil && n.Type == RString {
		return n.Strings
	}
	return nil
}

// Item returns the element of a list (or pairlist) called name, or nil.
func (o *RObject) Item(name string) *RObject {
	if o.Type != RList && o.Type != RPairlist {
		return nil
	}
	for i, n := range o.Names() {
		if n == name && i < len(o.Items) {
			return o.Items[i]
		}
	}
	return nil
}

// rTypeNames names the serialized type codes in errors.
var rTypeNames = map[int]string{
	0: "NULL", 1: "symbol", 2: "pairlist", 3: "closure", 4: "environment", 5: "promise",
	6: "language object", 7: "special function", 8: "builtin function", 9: "string (CHARSXP)",
	10: "logical vector", 13: "integer vector", 14: "double vector", 15: "complex vector",
	16: "character vector", 17: "... object", 19: "list", 20: "expression vector",
	21: "byte code", 22: "external pointer", 23: "weak reference", 24: "raw vector",
	25: "S4 object", 238: "ALTREP object", 239: "pairlist with attributes (ATTRLISTSXP)",
	240: "language object with attributes (ATTRLANGSXP)", 241: "base environment",
	242: "empty environment", 243: "byte-code reference", 244: "byte-code definition",
	245: "generic reference", 246: "class reference", 247: "persistent reference (an object stored outside the stream)",
	248: "package environment", 249: "namespace", 250: "base namespace", 251: "missing argument",
	252: "unbound value", 253: "global environment", 254: "NULL", 255: "reference",
}

// rTypeName returns "type N (name)" for errors.
func rTypeName(t int) string {
	if n, ok := rTypeNames[t]; ok {
		return fmt.Sprintf("type %d (%s)", t, n)
	}
	return fmt.Sprintf("type %d (not an R type)", t)
}

// MaxRDepth is the deepest nesting of lists, pairlists and attributes
// DecodeRSerialization follows; data frames need 4.
const MaxRDepth = 256

// MaxRCompactLength is the longest compact integer sequence (an ALTREP 1:n, a few bytes in
// the stream) DecodeRSerialization expands: 2^24 elements.
const MaxRCompactLength = 1 << 24

// DecodeRSerialization decodes one R object from b, a serialization in R's XDR binary
// format (what serialize(), saveRDS() once decompressed, and each entry of a lazy-load
// database hold; R Internals, "Serialization Formats"): the two bytes "X\n", the format
// version (2 or 3), the writer's and the minimum reader's R versions, for version 3 the
// native encoding's name, then the object. Every item starts with a 32-bit flags word:
// bits 0-7 the type, bit 8 the object bit, bit 9 "has attributes", bit 10 "has a tag",
// bits 12-27 the levels (a string's encoding). Integers and doubles are big-endian.
//
// It reads the types of RType and: strings (CHARSXP, with NA and the UTF-8, Latin-1,
// bytes and ASCII encodings); back-references to symbols (REFSXP); and the ALTREP
// classes compact_intseq (1:n, at most MaxRCompactLength elements) and wrap_integer,
// wrap_real, wrap_logical, wrap_string (sorted vectors), expanded to plain vectors. Vectors longer
// than 2^31-1 (the long-vector form) are read when the stream holds them.
//
// name (the file name, or where in a file b came from) prefixes errors: "data: rdata:
// NAME: byte N: ...", N being the offset in b of the item or field at fault. Errors
// report a bad header or version, truncation, lengths larger than what remains of b
// (checked before allocating, so a forged length costs nothing), bad references,
// nesting deeper than MaxRDepth, bytes left after the object, and any type outside the
// subset, by its code and name (closures, environments, S4 objects, complex vectors...).
func DecodeRSerialization(b []byte, name string) (*RObject, error) {
	d := &rDecoder{b: b, name: name}
	if len(b) < 2 || b[0] != 'X' || b[1] != '\n' {
		switch {
		case len(b) >= 2 && (b[0] == 'A' || b[0] == 'B') && b[1] == '\n':
			return nil, d.errorf(0, "R serialization in the %s format; only the XDR (binary, \"X\\n\") format is read", map[byte]string{'A': "ASCII", 'B': "native binary"}[b[0]])
		case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
			return nil, d.errorf(0, "gzip data, not an R serialization (decompress it first: ReadRDS does)")
		}
		return nil, d.errorf(0, "not an R serialization in XDR format: want \"X\\n\", got %q", b[:min(len(b), 2)])
	}
	d.off = 2
	version, err := d.int()
	if err != nil {
		return nil, err
	}
	if version != 2 && version != 3 {
		return nil, d.errorf(2, "serialization format version %d; versions 2 and 3 are read", version)
	}
	if _, err := d.int(); err != nil { // R version that wrote it
		return nil, err
	}
	if _, err := d.int(); err != nil { // oldest R version that reads it
		return nil, err
	}
	if version == 3 {
		at := d.off
		n, err := d.int()
		if err != nil {
			return nil, err
		}
		if n < 0 || n > len(b)-d.off {
			return nil, d.errorf(at, "native encoding name of %d bytes, but %d bytes remain", n, len(b)-d.off)
		}
		d.off += n
	}
	o, err := d.item()
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, d.errorf(d.off, "%d bytes after the object", len(b)-d.off)
	}
	return o, nil
}

// rDecoder reads one serialization from b.
type rDecoder struct {
	b     []byte
	off   int
	name  string
	refs  []*RObject // the reference table: symbols, in the order they were read
	depth int
}

func (d *rDecoder) errorf(at int, format string, args ...any) error {
	return fmt.Errorf("data: rdata: %s: byte %d: %s", d.name, at, fmt.Sprintf(format, args...))
}

// int reads one big-endian 32-bit integer.
func (d *rDecoder) int() (int, error) {
	if len(d.b)-d.off < 4 {
		return 0, d.errorf(d.off, "stream ends inside a 4-byte field (%d bytes remain)", len(d.b)-d.off)
	}
	v := int32(binary.BigEndian.Uint32(d.b[d.off:]))
	d.off += 4
	return int(v), nil
}

// length reads a vector length: one integer, or -1 followed by the upper and lower 32
// bits of a long length. It checks that the stream holds at least per bytes for each
// element, per being the fewest bytes one element takes there, so that a forged length
// never makes the caller allocate more than the stream could fill.
func (d *rDecoder) length(what string, per int) (int, error) {
	at := d.off
	n32, err := d.int()
	if err != nil {
		return 0, err
	}
	n := int64(n32)
	if n32 == -1 {
		hi, err := d.int()
		if err != nil {
			return 0, err
		}
		lo, err := d.int()
		if err != nil {
			return 0, err
		}
		n = int64(uint32(hi))<<32 | int64(uint32(lo))
	}
	if n < 0 {
		return 0, d.errorf(at, "%s of negative length %d", what, n)
	}
	if rem := len(d.b) - d.off; n > int64(rem/per) {
		return 0, d.errorf(at, "%s of %d elements (%d bytes or more each) but %d bytes remain", what, n, per, rem)
	}
	return int(n), nil
}

// The bits of an item's flags word the reader uses: "has attributes" and "has a tag".
const (
	rFlagAttr = 1 << 9
	rFlagTag  = 1 << 10
)

// rLevelLatin1 is the levels bit (flags bit 12 and up) of a Latin-1 string; UTF-8
// (bit 3), ASCII (bit 6) and bytes (bit 1) strings are taken as they are.
const rLevelLatin1 = 1 << 2

// item reads one object.
func (d *rDecoder) item() (*RObject, error) {
	at := d.off
	flags, err := d.int()
	if err != nil {
		return nil, err
	}
	return d.itemFlags(at, flags)
}

// itemFlags reads the rest of the object whose flags word, at byte at, has been read.
func (d *rDecoder) itemFlags(at, flags int) (*RObject, error) {
	if d.depth >= MaxRDepth {
		return nil, d.errorf(at, "objects nested more than %d deep", MaxRDepth)
	}
	d.depth++
	o, err := d.object(at, flags)
	d.depth--
	if o != nil && flags&0xFF != rRefSXP {
		o.at = at
	}
	return o, err
}

// object reads the object of itemFlags.
func (d *rDecoder) object(at, flags int) (*RObject, error) {
	typ := flags & 0xFF
	switch typ {
	case rNilValueSXP:
		return &RObject{Type: RNull}, nil
	case rRefSXP:
		i := flags >> 8
		if i == 0 {
			var err error
			if i, err = d.int(); err != nil {
				return nil, err
			}
		}
		if i < 1 || i > len(d.refs) {
			return nil, d.errorf(at, "reference %d, but %d objects have been stored for reference", i, len(d.refs))
		}
		return d.refs[i-1], nil
	case int(RSymbol):
		s, na, err := d.charsxp("symbol name")
		if err != nil {
			return nil, err
		}
		if na {
			return nil, d.errorf(at, "symbol with an NA name")
		}
		o := &RObject{Type: RSymbol, Name: s}
		d.refs = append(d.refs, o)
		return o, nil
	case int(RPairlist):
		return d.pairlist(at, flags)
	case int(RLogical), int(RInt):
		n, err := d.length(rTypeNames[typ], 4)
		if err != nil {
			return nil, err
		}
		o := &RObject{Type: RType(typ), Ints: make([]int32, n)}
		for i := range o.Ints {
			o.Ints[i] = int32(binary.BigEndian.Uint32(d.b[d.off+4*i:]))
		}
		d.off += 4 * n
		return d.attributes(o, flags)
	case int(RReal):
		n, err := d.length(rTypeNames[typ], 8)
		if err != nil {
			return nil, err
		}
		o := &RObject{Type: RReal, Reals: make([]float64, n)}
		for i := range o.Reals {
			o.Reals[i] = math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off+8*i:]))
		}
		d.off += 8 * n
		return d.attributes(o, flags)
	case int(RString):
		n, err := d.length(rTypeNames[typ], 8)
		if err != nil {
			return nil, err
		}
		o := &RObject{Type: RString, Strings: make([]string, n)}
		for i := range o.Strings {
			s, na, err := d.charsxp("element of a character vector")
			if err != nil {
				return nil, err
			}
			if na {
				if o.StringNA == nil {
					o.StringNA = make([]bool, n)
				}
				o.StringNA[i] = true
			}
			o.Strings[i] = s
		}
		return d.attributes(o, flags)
	case int(RRaw):
		n, err := d.length(rTypeNames[typ], 1)
		if err != nil {
			return nil, err
		}
		o := &RObject{Type: RRaw, Raw: append([]byte(nil), d.b[d.off:d.off+n]...)}
		d.off += n
		return d.attributes(o, flags)
	case int(RList):
		n, err := d.length(rTypeNames[typ], 4)
		if err != nil {
			return nil, err
		}
		o := &RObject{Type: RList, Items: make([]*RObject, n)}
		for i := range o.Items {
			if o.Items[i], err = d.item(); err != nil {
				return nil, err
			}
		}
		return d.attributes(o, flags)
	case rAltrepSXP:
		return d.altrep(at)
	case rCharSXP:
		return nil, d.errorf(at, "a string (CHARSXP) outside a character vector or symbol")
	}
	return nil, d.errorf(at, "R object of %s: the reader takes NULL, symbols, pairlists, logical, integer, double, character and raw vectors and lists (data frames and factors)", rTypeName(typ))
}

// charsxp reads one CHARSXP item (flags, length, bytes) and returns it as UTF-8; na
// reports R's NA_character_ (length -1).
func (d *rDecoder) charsxp(what string) (s string, na bool, err error) {
	at := d.off
	flags, err := d.int()
	if err != nil {
		return "", false, err
	}
	if flags&0xFF != rCharSXP {
		return "", false, d.errorf(at, "%s is an R object of %s, want a string (CHARSXP)", what, rTypeName(flags&0xFF))
	}
	if flags&rFlagAttr != 0 {
		return "", false, d.errorf(at, "%s (a string) has attributes", what)
	}
	n, err := d.int()
	if err != nil {
		return "", false, err
	}
	if n == -1 {
		return "", true, nil
	}
	if n < 0 || n > len(d.b)-d.off {
		return "", false, d.errorf(at+4, "%s of %d bytes, but %d bytes remain", what, n, len(d.b)-d.off)
	}
	raw := d.b[d.off : d.off+n]
	d.off += n
	levels := flags >> 12
	if levels&rLevelLatin1 != 0 {
		r := make([]rune, len(raw))
		for i, c := range raw {
			r[i] = rune(c)
		}
		return string(r), false, nil
	}
	return string(raw), false, nil
}

// attributes reads the attribute pairlist that follows a vector when flags says it has
// one, and stores it in o.
func (d *rDecoder) attributes(o *RObject, flags int) (*RObject, error) {
	if flags&rFlagAttr == 0 {
		return o, nil
	}
	at := d.off
	a, err := d.item()
	if err != nil {
		return nil, err
	}
	if err := d.setAttrs(o, a, at); err != nil {
		return nil, err
	}
	return o, nil
}

// setAttrs stores the attribute pairlist a (read at byte at) in o.
func (d *rDecoder) setAttrs(o, a *RObject, at int) error {
	switch a.Type {
	case RNull:
		return nil
	case RPairlist:
	default:
		return d.errorf(at, "attributes are an R object of %s, want a pairlist", rTypeName(int(a.Type)))
	}
	if a.tail != nil {
		return d.errorf(at, "attributes are a dotted pairlist")
	}
	for i, v := range a.Items {
		if a.Tags[i] == "" {
			return d.errorf(at, "attribute %d has no name", i+1)
		}
		o.Attrs = append(o.Attrs, RAttr{Name: a.Tags[i], Value: v})
	}
	return nil
}

// pairlist reads a pairlist whose first cell's flags, at byte at, have been read: for
// each cell its attributes (if flagged), its tag (if flagged), its value, then the next
// cell's flags, until NULL; a cell that is neither ends a dotted pair (o.tail).
func (d *rDecoder) pairlist(at, flags int) (*RObject, error) {
	o := &RObject{Type: RPairlist}
	for cell := 0; ; cell++ {
		if flags&rFlagAttr != 0 {
			aAt := d.off
			a, err := d.item()
			if err != nil {
				return nil, err
			}
			if cell > 0 && a.Type != RNull {
				return nil, d.errorf(aAt, "attributes on cell %d of a pairlist (only a pairlist's first cell may have them)", cell+1)
			}
			if err := d.setAttrs(o, a, aAt); err != nil {
				return nil, err
			}
		}
		tag := ""
		if flags&rFlagTag != 0 {
			tAt := d.off
			t, err := d.item()
			if err != nil {
				return nil, err
			}
			if t.Type != RSymbol {
				return nil, d.errorf(tAt, "pairlist tag is an R object of %s, want a symbol", rTypeName(int(t.Type)))
			}
			tag = t.Name
		}
		v, err := d.item()
		if err != nil {
			return nil, err
		}
		o.Items = append(o.Items, v)
		o.Tags = append(o.Tags, tag)
		at = d.off
		if flags, err = d.int(); err != nil {
			return nil, err
		}
		switch flags & 0xFF {
		case int(RPairlist):
			continue
		case rNilValueSXP:
			return o, nil
		}
		if o.tail, err = d.itemFlags(at, flags); err != nil {
			return nil, err
		}
		return o, nil
	}
}

// altrep reads an ALTREP object (at byte at): its class information (a pairlist of the
// class symbol, the package symbol and the base type), its state and its attributes,
// and expands the classes the reader knows into plain vectors.
func (d *rDecoder) altrep(at int) (*RObject, error) {
	info, err := d.item()
	if err != nil {
		return nil, err
	}
	if info.Type != RPairlist || len(info.Items) < 1 || info.Items[0].Type != RSymbol {
		return nil, d.errorf(at, "ALTREP object whose class information is not a pairlist starting with a symbol")
	}
	class := info.Items[0].Name
	stateAt := d.off
	state, err := d.item()
	if err != nil {
		return nil, err
	}
	attrAt := d.off
	attrs, err := d.item()
	if err != nil {
		return nil, err
	}
	var o *RObject
	switch class {
	case "compact_intseq":
		// The state is c(n, first, step) as doubles, step being 1 or -1.
		if state.Type != RReal || len(state.Reals) != 3 {
			return nil, d.errorf(stateAt, "compact_intseq state is not 3 doubles (length, first, step)")
		}
		n, first, step := state.Reals[0], state.Reals[1], state.Reals[2]
		if n != math.Trunc(n) || n < 0 || n > MaxRCompactLength {
			return nil, d.errorf(stateAt, "compact_intseq of length %v; at most %d elements are expanded", n, MaxRCompactLength)
		}
		last := first + step*(n-1)
		if (step != 1 && step != -1) || first != math.Trunc(first) ||
			math.Abs(first) > math.MaxInt32 || math.Abs(last) > math.MaxInt32 || first == RNAInt || last == RNAInt {
			return nil, d.errorf(stateAt, "compact_intseq from %v by %v is not a sequence of integers", first, step)
		}
		o = &RObject{Type: RInt, Ints: make([]int32, int(n))}
		for i := range o.Ints {
			o.Ints[i] = int32(first + step*float64(i))
		}
	case "wrap_integer", "wrap_logical", "wrap_real", "wrap_string":
		// The state is a dotted pair: the wrapped vector, then metadata (sortedness).
		if state.Type != RPairlist || len(state.Items) != 1 {
			return nil, d.errorf(stateAt, "%s state is not a pair of the vector and its metadata", class)
		}
		inner := *state.Items[0]
		o = &inner
		o.Attrs = nil
		want := map[string]RType{"wrap_integer": RInt, "wrap_logical": RLogical, "wrap_real": RReal, "wrap_string": RString}[class]
		if o.Type != want {
			return nil, d.errorf(stateAt, "%s wraps an R object of %s", class, rTypeName(int(o.Type)))
		}
	default:
		pkg := ""
		if len(info.Items) > 1 && info.Items[1].Type == RSymbol {
			pkg = " of package " + info.Items[1].Name
		}
		return nil, d.errorf(at, "ALTREP class %s%s; the reader expands compact_intseq and wrap_* only", class, pkg)
	}
	if err := d.setAttrs(o, attrs, attrAt); err != nil {
		return nil, err
	}
	return o, nil
}
