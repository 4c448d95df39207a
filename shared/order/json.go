package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads a body into a tree of the values the validators look at,
// with encoding/json's Decoder. The validators need what struct decoding
// hides: the exact text of numbers (ids above 2^53, amounts that must never
// become floats), unknown and repeated members, and the type of every value,
// so that a wrong type is a field error rather than a failed decode.
//
// A shape says how much of the body to keep, so that memory follows the
// schema rather than the body: values nobody reads are checked for syntax
// and skipped without being stored, and arrays keep only as many elements as
// the schema allows, or none when there are too many.

// jsonKind is the type of a JSON value.
type jsonKind uint8

// The JSON value types; the zero kind means "absent".
const (
	jsonNull jsonKind = iota + 1
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// maxDepth bounds nesting: no order needs more than a handful of levels, and
// the bound keeps hostile bodies from recursing deeply.
const maxDepth = 1000

// String names a kind for error messages.
func (k jsonKind) String() string {
	switch k {
	case jsonNull:
		return "null"
	case jsonBool:
		return "a boolean"
	case jsonNumber:
		return "a number"
	case jsonString:
		return "a string"
	case jsonArray:
		return "an array"
	case jsonObject:
		return "an object"
	}
	return "nothing"
}

// jvalue is one JSON value of the body.
type jvalue struct {
	kind jsonKind
	// badUTF8 marks a string whose raw bytes were not valid UTF-8 (or held a
	// lone surrogate escape) and were replaced with U+FFFD.
	badUTF8 bool
	boolean bool
	// text is a string's decoded contents or a number's literal text.
	text string
	// elems are the elements of an array that its shape keeps; count is how
	// many it has in all.
	elems []jvalue
	count int
	// fields are the members of an object whose values the shape keeps, in
	// document order; others are the names of the rest: members the shape
	// does not name and repeats of those it does.
	fields []jfield
	others []string
}

// jfield is one member of an object.
type jfield struct {
	name  string
	value jvalue
}

// get returns the value of the first member called name, or nil.
func (v *jvalue) get(name string) *jvalue {
	if v == nil || v.kind != jsonObject {
		return nil
	}
	for i := range v.fields {
		if f := &v.fields[i]; f.name == name {
			return &f.value
		}
	}
	return nil
}

// present reports whether v exists and is not null.
func (v *jvalue) present() bool { return v != nil && v.kind != 0 && v.kind != jsonNull }

// UnmarshalJSON keeps a scalar (string text, number literal, boolean) and
// only the kind of an array or object. ParseShopify decodes into structs of
// these; the tree reader uses it for scalars.
func (v *jvalue) UnmarshalJSON(b []byte) error {
	*v = jvalue{kind: kindOf(b[0])}
	switch v.kind {
	case jsonString:
		v.text, v.badUTF8 = unquote(b)
	case jsonBool:
		v.boolean = b[0] == 't'
	case jsonNumber:
		v.text = string(b)
	}
	return nil
}

// unquote decodes the valid JSON string literal b as encoding/json does
// (invalid UTF-8 and lone surrogates become U+FFFD) and reports whether it
// held either.
func unquote(b []byte) (string, bool) {
	raw := b[1 : len(b)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), false
	}
	var s string
	_ = json.Unmarshal(b, &s) // cannot fail: the decoder has checked b
	return s, !utf8.Valid(raw) || loneSurrogate(raw)
}

// kindOf returns the kind of the JSON value that starts with byte c.
func kindOf(c byte) jsonKind {
	switch c {
	case '{':
		return jsonObject
	case '[':
		return jsonArray
	case '"':
		return jsonString
	case 't', 'f':
		return jsonBool
	case 'n':
		return jsonNull
	}
	return jsonNumber
}

// loneSurrogate reports whether the raw string contents hold a \u escape of
// a UTF-16 surrogate that is not part of a valid pair (encoding/json decodes
// it to U+FFFD).
func loneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped byte
		if raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1 : i+5])
		i += 4 // the last hex digit
		if !utf16.IsSurrogate(r) {
			continue
		}
		if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' &&
			utf16.DecodeRune(r, hex4(raw[i+3:i+7])) != utf8.RuneError {
			i += 6
			continue
		}
		return true
	}
	return false
}

// hex4 reads four hex digits (the decoder has checked them).
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// A shape says what the reader keeps of a value. Of an object, the values of
// the members named in members, read with their own shape, and the names of
// other members and of repeats. Of an array, its elements, read with shape
// elem, when it has at most max of them, else only their count. A nil shape
// keeps only the kind of an array or object. Scalars are always kept.
type shape struct {
	members map[string]*shape
	elem    *shape
	max     int
	// all keeps everything, repeats included (for tests).
	all bool
}

// parseJSON reads one JSON value (with optional surrounding white space)
// from body, keeping what s asks for. Errors wrap ErrMalformed with the
// position.
func parseJSON(body []byte, s *shape) (jvalue, error) {
	// Check the syntax and the nesting first, without keeping anything, so
	// that the reader below and its counts see valid JSON only.
	if err := json.Unmarshal(body, new(skipValue)); err != nil {
		return jvalue{}, syntaxError(body, err)
	}
	if i := tooDeep(body, maxDepth); i >= 0 {
		return jvalue{}, malformed(body, i, "nesting deeper than 1000 levels")
	}
	r := reader{body: body, dec: json.NewDecoder(bytes.NewReader(body))}
	v, err := r.value(s)
	if err != nil { // not expected after the checks above
		return jvalue{}, malformed(body, int(r.dec.InputOffset()), err.Error())
	}
	return v, nil
}

// reader is the reading state: the body and a decoder over it.
type reader struct {
	body []byte
	dec  *json.Decoder
}

// next returns the offset of the next value: past white space and the ':'
// or ',' the decoder has not consumed yet.
func (r *reader) next() int {
	i := int(r.dec.InputOffset())
	for i < len(r.body) && strings.IndexByte(" \t\r\n:,", r.body[i]) >= 0 {
		i++
	}
	return i
}

// value reads the next value with shape s.
func (r *reader) value(s *shape) (jvalue, error) {
	off := r.next()
	switch c := r.body[off]; {
	case c != '{' && c != '[':
		var v jvalue
		if err := r.dec.Decode(new(skipValue)); err != nil {
			return v, err
		}
		return v, v.UnmarshalJSON(r.body[off:r.dec.InputOffset()])
	case s == nil:
		kind, err := r.skip()
		return jvalue{kind: kind}, err
	case c == '[' && !s.all && elements(r.body, off) > s.max:
		// Too long: count the elements, keep none (and spend nothing on them).
		_, err := r.skip()
		return jvalue{kind: jsonArray, count: elements(r.body, off)}, err
	}
	if _, err := r.dec.Token(); err != nil {
		return jvalue{}, err
	}
	if r.body[off] == '{' {
		return r.object(s)
	}
	return r.array(s)
}

// object reads the members of an object after its '{'.
func (r *reader) object(s *shape) (jvalue, error) {
	v := jvalue{kind: jsonObject, fields: make([]jfield, 0, len(s.members))}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return v, err
		}
		name, _ := tok.(string)
		sub, known := s.members[name]
		if !s.all && (!known || v.get(name) != nil) {
			v.others = append(v.others, name)
			if _, err := r.skip(); err != nil {
				return v, err
			}
			continue
		}
		if s.all {
			sub = s
		}
		f := jfield{name: name}
		if f.value, err = r.value(sub); err != nil {
			return v, err
		}
		v.fields = append(v.fields, f)
	}
	_, err := r.dec.Token() // '}'
	return v, err
}

// array reads the elements of an array after its '['.
func (r *reader) array(s *shape) (jvalue, error) {
	v := jvalue{kind: jsonArray}
	elem := s.elem
	if s.all {
		elem = s
	}
	for ; r.dec.More(); v.count++ {
		e, err := r.value(elem)
		if err != nil {
			return v, err
		}
		v.elems = append(v.elems, e)
	}
	_, err := r.dec.Token() // ']'
	return v, err
}

// skip reads the next value without keeping it and returns its kind.
func (r *reader) skip() (jsonKind, error) {
	kind := kindOf(r.body[r.next()])
	return kind, r.dec.Decode(new(skipValue))
}

// skipValue is a decoding target that keeps nothing.
type skipValue struct{}

// UnmarshalJSON ignores the value.
func (skipValue) UnmarshalJSON([]byte) error { return nil }

// tooDeep returns the offset in the valid JSON text b of the first array or
// object nested more than limit levels deep, or -1.
func tooDeep(b []byte, limit int) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i)
		case '{', '[':
			if depth++; depth > limit {
				return i
			}
		case '}', ']':
			depth--
		}
	}
	return -1
}

// elements returns the number of elements of the array at b[off] in the
// valid JSON text b.
func elements(b []byte, off int) int {
	i := off + 1
	for i < len(b) && strings.IndexByte(" \t\r\n", b[i]) >= 0 {
		i++
	}
	if i == len(b) || b[i] == ']' {
		return 0
	}
	n, depth := 1, 1 // the elements are the commas at depth 1, plus one
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i)
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return n
			}
		case ',':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// stringEnd returns the offset of the closing quote of the valid JSON string
// that opens at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b) && b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i
}

// syntaxError describes err, the error of json.Unmarshal(body, ...), with its
// position, in the words of encoding/json.
func syntaxError(body []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return malformed(body, len(body), err.Error())
	}
	msg, off := se.Error(), int(se.Offset)
	if rest, ok := strings.CutPrefix(msg, "invalid character "); ok {
		off-- // the offending byte
		if i := strings.Index(rest[1:], "' "); i >= 0 {
			rest = rest[i+3:]
		}
		msg = "unexpected " + describe(body, off) + " " + rest
	}
	msg = strings.NewReplacer("numeric literal", "number", "JSON input", "input").Replace(msg)
	return malformed(body, off, msg)
}

// describe names the byte at offset off of body for error messages.
func describe(body []byte, off int) string {
	if off >= len(body) {
		return "end of input"
	}
	c := body[off]
	if c >= 0x20 && c < 0x7f {
		return "character '" + string(c) + "'"
	}
	const hex = "0123456789abcdef"
	return "byte 0x" + string(hex[c>>4]) + string(hex[c&15])
}
