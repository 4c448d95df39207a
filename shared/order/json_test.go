package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// anyShape keeps every value of a body.
var anyShape = &shape{all: true}

// toAny converts our tree to what encoding/json decodes with UseNumber
// (duplicate keys: the last one wins, as there).
func toAny(v *jvalue) any {
	switch v.kind {
	case jsonNull:
		return nil
	case jsonBool:
		return v.boolean
	case jsonNumber:
		return json.Number(v.text)
	case jsonString:
		return v.text
	case jsonArray:
		a := make([]any, len(v.elems))
		for i := range v.elems {
			a[i] = toAny(&v.elems[i])
		}
		return a
	case jsonObject:
		m := make(map[string]any, len(v.fields))
		for i := range v.fields {
			m[v.fields[i].name] = toAny(&v.fields[i].value)
		}
		return m
	}
	panic("unknown kind")
}

// checkAgainstStdlib asserts that parseJSON accepts exactly what
// encoding/json accepts (json.Valid) and decodes it to the same values.
func checkAgainstStdlib(t testing.TB, body []byte) {
	t.Helper()
	v, err := parseJSON(body, anyShape)
	valid := json.Valid(body)
	switch {
	case err != nil && !valid:
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		return
	case err != nil:
		if strings.Contains(err.Error(), "nesting deeper") {
			return // our limit is lower than encoding/json's
		}
		t.Fatalf("parseJSON rejected what encoding/json accepts: %v\n%q", err, body)
	case !valid:
		t.Fatalf("parseJSON accepted what encoding/json rejects\n%q", body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var want any
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	if got := toAny(&v); !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded differently\n got %#v\nwant %#v\nbody %q", got, want, body)
	}
}

func TestParseJSONAgainstStdlib(t *testing.T) {
	bodies := []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e-3`, `-12.0E+7`, `""`, ` {"a" : [ 1 , 2 ] } `,
		`"\u00e9\u20ac\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800"`, `"\ud800\u0041"`, `"\ud800\ud800\udc00"`,
		`"\"\\\/\b\f\n\r\t"`, "\"a\xffb\"", "\"\xed\xa0\x80\"", "\"\xe2\x82\"", "\"é\\n\xff\"",
		`{"a":1,"a":2}`, `[1,[2,[3,{"x":null}]]]`, "\ufeff{}",
		`01`, `1.`, `.1`, `+1`, `1e`, `-`, `[1,]`, `{"a":1,}`, `{"a"}`, `{a:1}`, `[1 2]`, `"\u12"`, `"\x"`, "\"\t\"",
		`tru`, `nul`, `falsey`, `{} x`, `[`, `{`, `"`, "\x00", `{"a":1}}`,
	}
	for _, b := range bodies {
		checkAgainstStdlib(t, []byte(b))
	}
	for _, file := range []string{"testdata/api/batch.json", "testdata/shopify/orders_updated_refunded.json"} {
		checkAgainstStdlib(t, readFile(t, file))
	}
}

func TestParseJSONBadUTF8Flag(t *testing.T) {
	for body, want := range map[string]bool{
		`"plain"`: false, `"é"`: false, `"\u00e9"`: false, `"\ud83d\ude00"`: false,
		"\"\xff\"": true, `"\ud800"`: true, "\"a\\n\xff\"": true,
	} {
		v, err := parseJSON([]byte(body), anyShape)
		if err != nil || v.badUTF8 != want {
			t.Errorf("parseJSON(%q): badUTF8 = %v, err = %v; want %v", body, v.badUTF8, err, want)
		}
	}
}
