package order

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// apiNow is Rules.Now for the API samples in testdata/api.
var apiNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// shopifyNow is Rules.Now for the Shopify samples in testdata/shopify.
var shopifyNow = time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC)

// utc builds a UTC time, nanoseconds included.
func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pointers lists the pointers of a *ValidationError (nil for a nil error).
func pointers(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var ps []string
	for _, f := range ve.Fields {
		if f.Detail == "" {
			t.Errorf("field error at %q has no detail", f.Pointer)
		}
		ps = append(ps, f.Pointer)
	}
	return ps
}

// detail returns the detail of the first field error at ptr.
func detail(err error, ptr string) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if f.Pointer == ptr {
				return f.Detail
			}
		}
	}
	return ""
}

// diffOrder describes how got differs from want ("" when equal); times
// compare as instants and must be in UTC.
func diffOrder(got, want Order) string {
	var diffs []string
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{{"CreatedAt", got.CreatedAt, want.CreatedAt}, {"UpdatedAt", got.UpdatedAt, want.UpdatedAt}} {
		if !tm.got.Equal(tm.want) || tm.got.Location() != time.UTC {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v (UTC)", tm.name, tm.got, tm.want))
		}
	}
	g, w := got, want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		diffs = append(diffs, fmt.Sprintf("\n got %+v\nwant %+v", g, w))
	}
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprint(diffs)
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }
