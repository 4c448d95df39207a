package shop

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckLabel(t *testing.T) {
	for label, ok := range map[string]bool{
		"":                              true,
		"zapier":                        true,
		"Shopify app – production 🛒":    true,
		strings.Repeat("é", MaxLabel):   true,
		strings.Repeat("x", MaxLabel+1): false,
		"tab\there":                     false,
		"new\nline":                     false,
		"zero\u200bwidth":               false,
		"bidi\u202eoverride":            false,
		"no-break\u00a0space":           false,
		"\xff":                          false,
	} {
		err := CheckLabel(label)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrBadLabel)) {
			t.Errorf("CheckLabel(%q) = %v; want ok=%v", label, err, ok)
		}
	}
}
