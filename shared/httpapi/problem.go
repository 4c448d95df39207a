// Package httpapi is the HTTP layer shared by winback's API functions:
// a ServeMux with RFC 9457 problems for unknown routes and methods, request
// checks (size, media type, bearer token), API-key authentication as
// middleware, the one place that maps domain errors to problems, and the
// adapter that serves the same http.Handler from API Gateway HTTP API
// (payload 2.0) events in Lambda.
package httpapi

import (
	"encoding/json"
	"net/http"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// Problem type URIs. They identify the kind of problem; the README documents each.
const (
	TypeValidation  = "tag:winback,2026:problem:validation"
	TypeConflict    = "tag:winback,2026:problem:conflict"
	TypeMalformed   = "tag:winback,2026:problem:malformed-json"
	TypeUnavailable = "tag:winback,2026:problem:try-again"
	TypeTooLarge    = "tag:winback,2026:problem:history-full"
	TypeRateLimited = "tag:winback,2026:problem:rate-limited"
	TypeBlank       = "about:blank"
)

// MaxListedErrors caps the field errors one problem lists; ErrorsOmitted
// counts the rest, so an answer stays small whatever the request.
const MaxListedErrors = 100

// FieldError points at one invalid field of the request body.
type FieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// Problem is an RFC 9457 problem details object, with field errors as the
// "errors" extension member and their overflow as "errors_omitted".
type Problem struct {
	Type          string       `json:"type"`
	Title         string       `json:"title"`
	Status        int          `json:"status"`
	Detail        string       `json:"detail,omitempty"`
	Instance      string       `json:"instance,omitempty"`
	Errors        []FieldError `json:"errors,omitempty"`
	ErrorsOmitted int          `json:"errors_omitted,omitempty"`

	// header holds extra response headers (Allow, Retry-After, WWW-Authenticate).
	header http.Header
}

// NewProblem is a problem of type about:blank whose title is the status text.
func NewProblem(status int, detail string) *Problem {
	return &Problem{Type: TypeBlank, Title: http.StatusText(status), Status: status, Detail: detail}
}

// WithHeader returns p with a response header to send along.
func (p *Problem) WithHeader(name, value string) *Problem {
	if p.header == nil {
		p.header = http.Header{}
	}
	p.header.Set(name, value)
	return p
}

// AddErrors appends field errors, keeping at most MaxListedErrors listed and
// counting the others (and omitted, the errors the source already left out).
func (p *Problem) AddErrors(errs []FieldError, omitted int) {
	room := max(0, MaxListedErrors-len(p.Errors))
	if len(errs) > room {
		omitted += len(errs) - room
		errs = errs[:room]
	}
	p.Errors = append(p.Errors, errs...)
	p.ErrorsOmitted += omitted
}

// Write sends p as the response.
func (p *Problem) Write(w http.ResponseWriter) {
	for k, vs := range p.header {
		w.Header()[k] = vs
	}
	write(w, p.Status, ProblemContentType, p)
}

// WriteJSON sends v as an application/json response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	write(w, status, "application/json", v)
}

func write(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, contentType = http.StatusInternalServerError, ProblemContentType
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
