// Package iam holds what the tests need of IAM's policy language: its
// StringLike match, with which dynamodb:LeadingKeys conditions are
// checked against the keys the store builds (shared/store) and the
// requests the handlers make (infra).
package iam

// StringLike is IAM's StringLike: * matches any run of characters (also
// none, and # too), ? exactly one, everything else itself; the whole
// string must match. No escapes, no character classes.
func StringLike(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if StringLike(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && StringLike(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && StringLike(pattern[1:], s[1:])
}
