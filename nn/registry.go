package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// The module registry: every module type registers a name and a constructor, and
// describes its configuration by its exported fields. The codec below turns any tree
// of registered modules into JSON and back:
//
//	{"type": "<kind>", "<field>": <value>, …}
//
// with the fields in struct order, named by their json tags. A field of type Module
// holds one nested module object, a field of type []Module a list of them; any other
// field is encoded by encoding/json (omitempty is honoured; a pointer field
// distinguishes "left out" from zero).

var (
	registryMu sync.RWMutex
	registry   = map[string]func() Module{}
)

var moduleType = reflect.TypeOf((*Module)(nil)).Elem()

// Register makes a module type known to the Spec codec under kind: make returns a new
// module, a pointer to a struct, with the type's defaults. kind must be what the
// module's Kind method returns. Register panics on a taken kind or a constructor that
// does not return a pointer to a struct: both are programming errors, found when the
// program starts. Call it from an init function, next to the type.
//
// The JSON fields of the type are its exported fields' json tags; fields tagged "-" and
// unexported fields are run-time state. A module type may implement
//
//	Validate() error
//
// to check its configuration without building it (ParseSpec calls it, and a Spec's
// errors then name the module).
func Register(kind string, make func() Module) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if kind == "" {
		panic("nn: Register: empty kind")
	}
	if _, ok := registry[kind]; ok {
		panic("nn: Register: module kind " + kind + " registered twice")
	}
	m := make()
	if m == nil {
		panic("nn: Register: " + kind + ": the constructor returned nil")
	}
	t := reflect.TypeOf(m)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("nn: Register: %s: the constructor returns %v, want a pointer to a struct", kind, t))
	}
	if got := m.Kind(); got != kind {
		panic(fmt.Sprintf("nn: Register: %s: the module's Kind() is %q", kind, got))
	}
	registry[kind] = make
}

// Kinds lists the registered module kinds, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	var ks []string
	for k := range registry {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func lookup(kind string) (func() Module, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	f, ok := registry[kind]
	return f, ok
}

// field is one JSON field of a module type.
type field struct {
	name      string
	index     int
	omitEmpty bool
	module    bool // of type Module
	list      bool // of type []Module
}

// fieldsOf lists the JSON fields of a module struct type, in struct order.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, field{name: name, index: i, omitEmpty: strings.Contains(opts, "omitempty"),
			module: f.Type == moduleType, list: f.Type == reflect.SliceOf(moduleType)})
	}
	return out
}

// fieldNames lists the JSON field names of kind, in struct order.
func fieldNames(kind string) []string {
	mk, ok := lookup(kind)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range fieldsOf(reflect.TypeOf(mk()).Elem()) {
		out = append(out, f.name)
	}
	return out
}

// EncodeModule writes m's description as a JSON object ({"type": kind, fields…}). The
// error names a module whose kind is not registered or whose type is not the
// registered one.
func EncodeModule(m Module) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := encodeModule(&b, m, ""); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeModule(b *bytes.Buffer, m Module, path string) error {
	at := path + ": "
	if path == "" {
		at = ""
	}
	if m == nil {
		return fmt.Errorf("nn: spec: %snil module", at)
	}
	kind := m.Kind()
	mk, ok := lookup(kind)
	if !ok {
		return fmt.Errorf("nn: spec: %sno description for layer type %T (kind %q is not registered: call nn.Register)", at, m, kind)
	}
	if want := reflect.TypeOf(mk()); reflect.TypeOf(m) != want {
		return fmt.Errorf("nn: spec: %smodule type %T claims kind %q, which is registered for %v", at, m, kind, want)
	}
	v := reflect.ValueOf(m).Elem()
	kb, _ := json.Marshal(kind)
	b.WriteString(`{"type":`)
	b.Write(kb)
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if f.omitEmpty && fv.IsZero() {
			continue
		}
		nb, _ := json.Marshal(f.name)
		b.WriteByte(',')
		b.Write(nb)
		b.WriteByte(':')
		switch {
		case f.module:
			if fv.IsNil() {
				b.WriteString("null")
				continue
			}
			if err := encodeModule(b, fv.Interface().(Module), at+f.name); err != nil {
				return err
			}
		case f.list:
			b.WriteByte('[')
			for i := 0; i < fv.Len(); i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				var child Module
				if e := fv.Index(i); !e.IsNil() {
					child = e.Interface().(Module)
				}
				if err := encodeModule(b, child, fmt.Sprintf("%s%s %d", at, strings.TrimSuffix(f.name, "s"), i)); err != nil {
					return err
				}
			}
			b.WriteByte(']')
		default:
			vb, err := json.Marshal(fv.Interface())
			if err != nil {
				return fmt.Errorf("nn: spec: %s%s: field %q: %w", at, kind, f.name, err)
			}
			b.Write(vb)
		}
	}
	b.WriteByte('}')
	return nil
}

// CloneModule returns a fresh, unbuilt module with m's configuration (through its
// description).
func CloneModule(m Module) (Module, error) {
	raw, err := EncodeModule(m)
	if err != nil {
		return nil, err
	}
	return DecodeModule(raw)
}

// DecodeModule reads one module description, as EncodeModule writes it, and validates
// it. Errors start "nn: spec: ".
func DecodeModule(raw json.RawMessage) (Module, error) {
	d := decoder{src: raw}
	m, err := d.module(raw, 0, "")
	if err != nil {
		return nil, fmt.Errorf("nn: spec: %w", err)
	}
	return m, nil
}

// decoder reads module trees out of one JSON text, so that errors can give the line
// and column where the offending value starts.
type decoder struct {
	src []byte
}

// jsonField is one member of a JSON object, with the offset of its value in src.
type jsonField struct {
	key string
	val json.RawMessage
	off int
}

// object reads raw (a JSON object starting at off in d.src) into its members, in order.
func (d *decoder) object(raw json.RawMessage, off int) ([]jsonField, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("%s: want a JSON object, got %s", position(d.src, off), jsonKind(raw))
	}
	var out []jsonField
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := kt.(string)
		start := int(dec.InputOffset())
		for start < len(raw) && (raw[start] == ' ' || raw[start] == '\t' || raw[start] == '\n' || raw[start] == '\r' || raw[start] == ':') {
			start++
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, jsonField{key: key, val: v, off: off + start})
	}
	return out, nil
}

// array reads raw (a JSON array at off) into its elements with their offsets.
func (d *decoder) array(raw json.RawMessage, off int) ([]jsonField, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("%s: want a list, got %s", position(d.src, off), jsonKind(raw))
	}
	var out []jsonField
	for dec.More() {
		start := int(dec.InputOffset())
		for start < len(raw) && (raw[start] == ' ' || raw[start] == '\t' || raw[start] == '\n' || raw[start] == '\r' || raw[start] == ',') {
			start++
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, jsonField{val: v, off: off + start})
	}
	return out, nil
}

// jsonKind names the JSON type of a value ("string", "array"…).
func jsonKind(raw json.RawMessage) string {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// module decodes the module object raw found at off; where names it for errors ("layer
// 2", "layer 1: body").
func (d *decoder) module(raw json.RawMessage, off int, where string) (Module, error) {
	at := func(s string) string {
		if where == "" {
			return strings.TrimPrefix(s, ": ")
		}
		return where + s
	}
	fields, err := d.object(raw, off)
	if err != nil {
		return nil, errors.New(at(": " + err.Error()))
	}
	var kind string
	typeOK := false
	for _, f := range fields {
		if f.key == "type" {
			if err := json.Unmarshal(f.val, &kind); err != nil {
				return nil, errors.New(at(fmt.Sprintf(`: "type" must be a string, got %s`, bytes.TrimSpace(f.val))))
			}
			typeOK = true
		}
	}
	if !typeOK {
		return nil, errors.New(at(`: no "type" (want one of ` + strings.Join(Kinds(), ", ") + ")"))
	}
	mk, ok := lookup(kind)
	if !ok {
		return nil, errors.New(at(fmt.Sprintf(": unknown layer type %q (want one of %s)", kind, strings.Join(Kinds(), ", "))))
	}
	named := func(s string) error {
		if where == "" {
			return fmt.Errorf("%s: %s", kind, s)
		}
		return fmt.Errorf("%s (%s): %s", where, kind, s)
	}
	m := mk()
	v := reflect.ValueOf(m).Elem()
	fs := fieldsOf(v.Type())
	takes := "no fields"
	if names := fieldNames(kind); len(names) > 0 {
		takes = strings.Join(names, ", ")
	}
	seen := map[string]bool{}
	for _, jf := range fields {
		if jf.key == "type" {
			continue
		}
		if seen[jf.key] {
			return nil, named(fmt.Sprintf("field %q given twice", jf.key))
		}
		seen[jf.key] = true
		i := slicesIndex(fs, jf.key)
		if i < 0 {
			if knownField(jf.key) {
				return nil, named(fmt.Sprintf("field %q does not apply to %s (it takes %s)", jf.key, kind, takes))
			}
			return nil, named(fmt.Sprintf("unknown field %q (%s takes %s)", jf.key, kind, takes))
		}
		f := fs[i]
		fv := v.Field(f.index)
		sub := f.name
		if where != "" {
			sub = where + ": " + f.name
		}
		switch {
		case f.module:
			if string(bytes.TrimSpace(jf.val)) == "null" {
				continue
			}
			child, err := d.module(jf.val, jf.off, sub)
			if err != nil {
				return nil, err
			}
			fv.Set(reflect.ValueOf(&child).Elem())
		case f.list:
			elems, err := d.array(jf.val, jf.off)
			if err != nil {
				return nil, named(fmt.Sprintf("field %q: %v", f.name, err))
			}
			list := make([]Module, len(elems))
			for k, e := range elems {
				prefix := fmt.Sprintf("%s %d", strings.TrimSuffix(f.name, "s"), k)
				if where != "" {
					prefix = fmt.Sprintf("%s: %s", where, prefix)
				}
				if list[k], err = d.module(e.val, e.off, prefix); err != nil {
					return nil, err
				}
			}
			fv.Set(reflect.ValueOf(list))
		default:
			dec := json.NewDecoder(bytes.NewReader(jf.val))
			dec.DisallowUnknownFields()
			if err := dec.Decode(fv.Addr().Interface()); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return nil, named(fmt.Sprintf("field %q: want %s, got %s", f.name, typeWords(te.Type), te.Value))
				}
				msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "json: "), "nn: ")
				return nil, named(fmt.Sprintf("field %q: %s", f.name, msg))
			}
		}
	}
	if vm, ok := m.(interface{ Validate() error }); ok {
		if err := vm.Validate(); err != nil {
			return nil, named(err.Error())
		}
	}
	return m, nil
}

func slicesIndex(fs []field, name string) int {
	for i, f := range fs {
		if f.name == name {
			return i
		}
	}
	return -1
}

// knownField reports whether some registered module type has a field called name.
func knownField(name string) bool {
	for _, k := range Kinds() {
		for _, f := range fieldNames(k) {
			if f == name {
				return true
			}
		}
	}
	return false
}

// typeWords names a Go type as a JSON value ("a whole number", "a list").
func typeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Pointer:
		return typeWords(t.Elem())
	}
	return "an object"
}

// position is "line L, column C" (1-based) of byte offset off in src.
func position(src []byte, off int) string {
	off = min(max(off, 0), len(src))
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(src[:off], '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// Describe is a one-line description of a module's kind and configuration, for
// summaries and logs: "dense units=128 activation=relu". Nested modules are described
// by kind only.
func Describe(m Module) string {
	if m == nil {
		return "nil"
	}
	raw, err := EncodeModule(m)
	if err != nil {
		return m.Kind()
	}
	d := decoder{src: raw}
	fields, err := d.object(raw, 0)
	if err != nil {
		return m.Kind()
	}
	parts := []string{m.Kind()}
	for _, f := range fields {
		if f.key == "type" {
			continue
		}
		v := string(bytes.TrimSpace(f.val))
		switch {
		case strings.HasPrefix(v, "{"):
			continue // a nested module: described on its own line
		case strings.HasPrefix(v, "[{"):
			continue
		}
		parts = append(parts, f.key+"="+strings.Trim(v, `"`))
	}
	return strings.Join(parts, " ")
}
