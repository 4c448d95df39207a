package iam

import "testing"

func TestStringLike(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true}, {"", "a", false}, {"*", "", true}, {"*", "SHOP#a#CAMPAIGNS", true},
		{"SHOP#*#CAMPAIGN*", "SHOP#x#CAMPAIGNS", true}, {"SHOP#*#CAMPAIGN*", "SHOP#x#CUSTOMERS#01", false},
		{"SHOP#*", "SHOP#", true}, {"SHOP#?", "SHOP#", false}, {"SHOP#?", "SHOP#a", true}, {"SHOP#?", "SHOP#ab", false},
		{"SHOP#shop_????????????", "SHOP#shop_abcdefghijkl", true}, {"SHOP#shop_????????????", "SHOP#shop_abcdefghijk", false},
		{"a*b*c", "aXXbYYc", true}, {"a*b*c", "aXXcYYb", false}, {"APIKEY#*", "apikey#x", false},
	} {
		if got := StringLike(tc.pattern, tc.s); got != tc.want {
			t.Errorf("StringLike(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
