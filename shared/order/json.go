package order

import (
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small JSON reader that builds a tree of the whole body in
// one pass, without reflection. The validators need what encoding/json's
// struct decoding hides: the exact text of numbers (ids above 2^53, amounts
// that must never become floats), unknown and duplicate keys, and the type of
// every value so that a wrong type is a field error rather than a failed
// decode. Strings decode exactly as encoding/json decodes them (invalid UTF-8
// and lone surrogates become U+FFFD); the fuzz test checks the two agree.

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

// jvalue is one JSON value of the body.
type jvalue struct {
	kind jsonKind
	// badUTF8 marks a string whose raw bytes were not valid UTF-8 (or held a
	// lone surrogate escape) and were replaced with U+FFFD.
	badUTF8 bool
	boolean bool
	// off is the byte offset of the value in the body.
	off int
	// text is a string's decoded contents or a number's literal text.
	text   string
	elems  []jvalue
	fields []jfield
}

// jfield is one member of an object, in document order (duplicates kept).
type jfield struct {
	name  string
	value jvalue
}

// get returns the value of the last member called name (the member
// encoding/json would keep), or nil.
func (v *jvalue) get(name string) *jvalue {
	if v == nil || v.kind != jsonObject {
		return nil
	}
	for i := len(v.fields) - 1; i >= 0; i-- {
		if v.fields[i].name == name {
			return &v.fields[i].value
		}
	}
	return nil
}

// present reports whether v exists and is not null.
func (v *jvalue) present() bool { return v != nil && v.kind != 0 && v.kind != jsonNull }

// kindName names a kind for error messages.
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

// parseJSON reads one JSON value (with optional surrounding white space) from
// body. Errors wrap ErrMalformed with the position.
func parseJSON(body []byte) (jvalue, error) {
	p := jparser{s: string(body)}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return jvalue{}, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return jvalue{}, p.fail("unexpected " + p.describe() + " after the top-level value")
	}
	return v, nil
}

// jparser is the reading state: the body, the current offset, and scratch
// stacks on which the members of the open objects and arrays collect, so
// that each container costs one exactly sized allocation.
type jparser struct {
	s      string
	i      int
	fields []jfield
	elems  []jvalue
}

func (p *jparser) fail(msg string) error { return malformed(p.s, p.i, msg) }

// describe names the byte at the current offset for error messages.
func (p *jparser) describe() string {
	if p.i >= len(p.s) {
		return "end of input"
	}
	c := p.s[p.i]
	if c >= 0x20 && c < 0x7f {
		return "character '" + string(c) + "'"
	}
	return "byte 0x" + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
}

func (p *jparser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (jvalue, error) {
	if p.i >= len(p.s) {
		return jvalue{}, p.fail("unexpected end of input, expected a value")
	}
	start := p.i
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		text, bad, err := p.str()
		return jvalue{kind: jsonString, off: start, text: text, badUTF8: bad}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return jvalue{kind: jsonBool, off: start, boolean: true}, p.literal("true")
	case c == 'f':
		return jvalue{kind: jsonBool, off: start}, p.literal("false")
	case c == 'n':
		return jvalue{kind: jsonNull, off: start}, p.literal("null")
	}
	return jvalue{}, p.fail("unexpected " + p.describe() + ", expected a value")
}

func (p *jparser) literal(word string) error {
	if strings.HasPrefix(p.s[p.i:], word) {
		p.i += len(word)
		return nil
	}
	// Point at the first byte that differs.
	for j := 0; j < len(word) && p.i < len(p.s) && p.s[p.i] == word[j]; j++ {
		p.i++
	}
	return p.fail("unexpected " + p.describe() + " in literal " + word)
}

func (p *jparser) object(depth int) (jvalue, error) {
	v := jvalue{kind: jsonObject, off: p.i}
	if depth > maxDepth {
		return v, p.fail("nesting deeper than 1000 levels")
	}
	p.i++ // {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return v, nil
	}
	base := len(p.fields)
	defer func() { p.fields = p.fields[:base] }()
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return v, p.fail("unexpected " + p.describe() + ", expected a string key")
		}
		name, _, err := p.str()
		if err != nil {
			return v, err
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return v, p.fail("unexpected " + p.describe() + ", expected ':' after object key")
		}
		p.i++
		p.skipSpace()
		member, err := p.value(depth)
		if err != nil {
			return v, err
		}
		p.fields = append(p.fields, jfield{name: name, value: member})
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			p.skipSpace()
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			v.fields = slices.Clone(p.fields[base:])
			return v, nil
		}
		return v, p.fail("unexpected " + p.describe() + ", expected ',' or '}' in object")
	}
}

func (p *jparser) array(depth int) (jvalue, error) {
	v := jvalue{kind: jsonArray, off: p.i}
	if depth > maxDepth {
		return v, p.fail("nesting deeper than 1000 levels")
	}
	p.i++ // [
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return v, nil
	}
	base := len(p.elems)
	defer func() { p.elems = p.elems[:base] }()
	for {
		elem, err := p.value(depth)
		if err != nil {
			return v, err
		}
		p.elems = append(p.elems, elem)
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			p.skipSpace()
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			v.elems = slices.Clone(p.elems[base:])
			return v, nil
		}
		return v, p.fail("unexpected " + p.describe() + ", expected ',' or ']' in array")
	}
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and keeps its text.
func (p *jparser) number() (jvalue, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.i < len(p.s) && p.s[p.i] >= '1' && p.s[p.i] <= '9':
		p.skipDigits()
	default:
		return jvalue{}, p.fail("unexpected " + p.describe() + " in number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if !p.skipDigits() {
			return jvalue{}, p.fail("unexpected " + p.describe() + " after decimal point in number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if !p.skipDigits() {
			return jvalue{}, p.fail("unexpected " + p.describe() + " in exponent of number")
		}
	}
	return jvalue{kind: jsonNumber, off: start, text: p.s[start:p.i]}, nil
}

// skipDigits advances over ASCII digits and reports whether there was one.
func (p *jparser) skipDigits() bool {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// str reads a string starting at the opening quote. Strings without escapes
// and with valid UTF-8 are sub-strings of the body (no copy).
func (p *jparser) str() (text string, badUTF8 bool, err error) {
	p.i++ // opening quote
	start := p.i
	ascii := true
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			text = p.s[start:p.i]
			p.i++
			if !ascii && !utf8.ValidString(text) {
				var b strings.Builder
				writeValidUTF8(&b, text)
				return b.String(), true, nil
			}
			return text, false, nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return "", false, p.fail("control character " + p.describe() + " in string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return "", false, p.fail("unexpected end of input in string")
}

// strSlow decodes a string with escapes, from start (just after the opening
// quote); p.i is at the first backslash.
func (p *jparser) strSlow(start int) (string, bool, error) {
	var b strings.Builder
	b.Grow(p.i - start + 16)
	bad := false
	// Copy the escape-free prefix, replacing invalid UTF-8.
	if prefix := p.s[start:p.i]; utf8.ValidString(prefix) {
		b.WriteString(prefix)
	} else {
		bad = true
		writeValidUTF8(&b, prefix)
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), bad, nil
		case c < 0x20:
			return "", false, p.fail("control character " + p.describe() + " in string")
		case c == '\\':
			if p.i+1 >= len(p.s) {
				p.i++
				return "", false, p.fail("unexpected end of input in string escape")
			}
			p.i++
			switch e := p.s[p.i]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
				p.i++
			case 'b':
				b.WriteByte('\b')
				p.i++
			case 'f':
				b.WriteByte('\f')
				p.i++
			case 'n':
				b.WriteByte('\n')
				p.i++
			case 'r':
				b.WriteByte('\r')
				p.i++
			case 't':
				b.WriteByte('\t')
				p.i++
			case 'u':
				p.i++
				r, ok := p.hex4()
				if !ok {
					return "", false, p.fail("invalid \\u escape in string")
				}
				if utf16.IsSurrogate(r) {
					// A valid pair becomes one rune; anything else is U+FFFD
					// and the next escape is read on its own, as
					// encoding/json does.
					save := p.i
					if strings.HasPrefix(p.s[p.i:], `\u`) {
						p.i += 2
						if r2, ok := p.hex4(); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								b.WriteRune(dec)
								continue
							}
						}
					}
					p.i = save
					r = utf8.RuneError
					bad = true
				}
				b.WriteRune(r)
			default:
				return "", false, p.fail("invalid escape '\\" + string(e) + "' in string")
			}
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			p.i++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				bad = true
			}
			b.WriteRune(r)
			p.i += size
		}
	}
	return "", false, p.fail("unexpected end of input in string")
}

// hex4 reads four hex digits.
func (p *jparser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		p.i = len(p.s)
		return 0, false
	}
	var r rune
	for j := 0; j < 4; j++ {
		c := p.s[p.i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
		p.i++
	}
	return r, true
}

// writeValidUTF8 writes s replacing each invalid byte with U+FFFD, as
// encoding/json does (strings.ToValidUTF8 would merge runs of them into one).
func writeValidUTF8(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte
		i += size
	}
}
