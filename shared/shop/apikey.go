package shop

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// KeyInfo is what is known about one of a shop's API keys without its
// secret: what `winback apikey list` shows. The key id is not secret (it
// is the part of the key between "wbk_" and the second "_").
type KeyInfo struct {
	KeyID     string
	Label     string
	CreatedAt time.Time
}

// FirstKeyLabel labels the API key a shop is created with.
const FirstKeyLabel = "created with the shop"

// MaxLabel is the longest label of an API key, in characters.
const MaxLabel = 64

// ErrBadLabel means an API key's label is too long or not printable text.
var ErrBadLabel = errors.New("invalid API key label")

// CheckLabel checks an API key's label: at most MaxLabel characters of
// printable UTF-8, no control, format (zero-width, bidi) or other spaces
// ("" is fine).
func CheckLabel(label string) error {
	if !utf8.ValidString(label) || utf8.RuneCountInString(label) > MaxLabel {
		return fmt.Errorf("%w: at most %d characters of UTF-8 text", ErrBadLabel, MaxLabel)
	}
	for _, r := range label {
		if !unicode.IsPrint(r) { // letters, marks, numbers, punctuation, symbols, ASCII space
			return fmt.Errorf("%w: %q is not a printable character", ErrBadLabel, r)
		}
	}
	return nil
}
