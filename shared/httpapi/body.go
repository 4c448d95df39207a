package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// ReadBody reads the request body, at most MaxBody bytes (413 beyond), for
// handlers that must see the raw bytes before anything else (a signature).
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, *Problem) {
	if r.ContentLength > MaxBody {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge()
	case err != nil:
		return nil, NewProblem(http.StatusBadRequest, "the body could not be read")
	}
	return body, nil
}

func tooLarge() *Problem {
	return NewProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body must be at most %d bytes", MaxBody))
}

// CheckJSON answers 415 unless the request says its body is JSON
// (application/json or a +json type) in UTF-8, the only encoding JSON has
// (RFC 8259): a charset parameter other than utf-8 is refused, not guessed.
func CheckJSON(r *http.Request) *Problem {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return NewProblem(http.StatusUnsupportedMediaType, "send the body as application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return NewProblem(http.StatusUnsupportedMediaType, "send the body as UTF-8 JSON (charset=utf-8 or no charset)")
	}
	return nil
}

// JSONBody checks that the request body is JSON (415 otherwise), reads at
// most MaxBody bytes of it (413) and refuses an empty one (400).
func JSONBody(w http.ResponseWriter, r *http.Request) ([]byte, *Problem) {
	if p := CheckJSON(r); p != nil {
		return nil, p
	}
	body, p := ReadBody(w, r)
	if p != nil {
		return nil, p
	}
	if len(body) == 0 {
		return nil, &Problem{Type: TypeMalformed, Title: "Malformed JSON", Status: http.StatusBadRequest, Detail: "the body is empty"}
	}
	return body, nil
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header. A request with more than one Authorization header has none: which
// of two credentials is meant is not for the server to guess.
func BearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
