package order

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrMalformed means the body is not JSON, or its top level is not an
// object: the client sent something we cannot read at all (HTTP 400). Errors
// wrap it with the position of the problem.
var ErrMalformed = errors.New("malformed JSON")

// ErrInvalid means the body is JSON but breaks the schema or a business rule
// (HTTP 422). A *ValidationError matches it with errors.Is.
var ErrInvalid = errors.New("invalid order")

// FieldError is one problem with one value of the request body.
type FieldError struct {
	// Pointer is an RFC 6901 JSON pointer into the request body, e.g.
	// "/orders/3/customer/email" in a batch or "/customer/email" for a
	// single order; "" is the whole body.
	Pointer string `json:"pointer"`
	// Detail says what is wrong, in words meant for the sender.
	Detail string `json:"detail"`
}

// MaxFieldErrors is the most field errors one ValidationError lists; the
// count of the others is in its More field, so that a hostile body cannot
// make the answer unbounded.
const MaxFieldErrors = 50

// ValidationError lists the field errors found, ordered by pointer (numeric
// segments compare as numbers, so /line_items/2 sorts before /line_items/10):
// the first MaxFieldErrors of them in that order, and how many more there were.
type ValidationError struct {
	Fields []FieldError
	// More counts the field errors found beyond those listed in Fields.
	More int
}

// Error summarises the field errors on one line.
func (e *ValidationError) Error() string {
	if len(e.Fields) == 0 {
		return ErrInvalid.Error()
	}
	var b strings.Builder
	b.WriteString(ErrInvalid.Error())
	b.WriteString(": ")
	const shown = 3
	for i, f := range e.Fields {
		if i == shown {
			fmt.Fprintf(&b, " (and %d more)", len(e.Fields)-shown+e.More)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if f.Pointer == "" {
			b.WriteString("body")
		} else {
			b.WriteString(f.Pointer)
		}
		b.WriteString(": ")
		b.WriteString(f.Detail)
	}
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// malformed wraps ErrMalformed with the line, column and byte offset of the
// problem in src.
func malformed(src []byte, off int, msg string) error {
	off = min(max(off, 0), len(src))
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(src[:off], '\n')
	return fmt.Errorf("%w: %s at line %d, column %d (byte %d)", ErrMalformed, msg, line, col, off)
}

// problems collects field errors while a body is checked. Pointers are
// built only when an error is recorded, so a valid order costs nothing. It
// keeps at most 2×MaxFieldErrors of them: beyond, it keeps the first
// MaxFieldErrors in pointer order and counts the rest, so that its memory
// stays bounded however many errors a body holds.
type problems struct {
	fields []FieldError
	more   int
	// inBatch and order put "/orders/<order>" in front of every pointer.
	inBatch bool
	order   int
}

// add records detail at the pointer made of the unescaped reference tokens
// (relative to the order in a batch).
func (p *problems) add(detail string, tokens ...string) {
	prefix := ""
	if p.inBatch {
		prefix = "/orders/" + strconv.Itoa(p.order)
	}
	p.addAt(pointer(prefix, tokens...), detail)
}

// addAt records detail at an absolute pointer.
func (p *problems) addAt(ptr, detail string) {
	if len(p.fields) == 2*MaxFieldErrors {
		p.trim()
	}
	p.fields = append(p.fields, FieldError{Pointer: ptr, Detail: detail})
}

// trim sorts the field errors by pointer and keeps the first MaxFieldErrors,
// counting the others. A stable sort keeps errors at one pointer in the order
// they were found, so the kept ones are those a sort of all would list first.
func (p *problems) trim() {
	slices.SortStableFunc(p.fields, func(a, b FieldError) int { return comparePointers(a.Pointer, b.Pointer) })
	if len(p.fields) > MaxFieldErrors {
		p.more += len(p.fields) - MaxFieldErrors
		clear(p.fields[MaxFieldErrors:])
		p.fields = p.fields[:MaxFieldErrors]
	}
}

// err returns the collected problems as a *ValidationError, or nil (an
// untyped nil error) when there are none.
func (p *problems) err() error {
	if len(p.fields) == 0 {
		return nil
	}
	p.trim()
	return &ValidationError{Fields: p.fields, More: p.more}
}

// pointer appends the reference tokens to prefix, escaping "~" and "/" as
// RFC 6901 requires.
func pointer(prefix string, tokens ...string) string {
	if len(tokens) == 0 {
		return prefix
	}
	var b strings.Builder
	b.WriteString(prefix)
	for _, t := range tokens {
		b.WriteByte('/')
		if strings.ContainsAny(t, "~/") {
			t = strings.NewReplacer("~", "~0", "/", "~1").Replace(t)
		}
		b.WriteString(t)
	}
	return b.String()
}

// comparePointers orders JSON pointers segment by segment; segments that are
// both array indices compare numerically.
func comparePointers(a, b string) int {
	for a != "" || b != "" {
		if a == "" {
			return -1
		}
		if b == "" {
			return 1
		}
		var sa, sb string
		sa, a = nextSegment(a)
		sb, b = nextSegment(b)
		if sa == sb {
			continue
		}
		if isIndex(sa) && isIndex(sb) {
			if len(sa) != len(sb) {
				if len(sa) < len(sb) {
					return -1
				}
				return 1
			}
		}
		if sa < sb {
			return -1
		}
		return 1
	}
	return 0
}

// nextSegment splits "/a/b" into "a" and "/b".
func nextSegment(p string) (seg, rest string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// isIndex reports whether s is an RFC 6901 array index (no leading zeros).
func isIndex(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
