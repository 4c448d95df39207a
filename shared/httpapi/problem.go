// Package httpapi is the HTTP edge shared by winback's API functions:
// RFC 9457 problem responses, request checks (size, content type, bearer
// token), a router over API Gateway HTTP API (payload 2.0) events, and a
// bridge that serves the same handlers over net/http for local use.
package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// Problem type URIs. They identify the kind of problem; the README documents each.
const (
	TypeValidation  = "tag:winback,2026:problem:validation"
	TypeConflict    = "tag:winback,2026:problem:conflict"
	TypeMalformed   = "tag:winback,2026:problem:malformed-json"
	TypeUnavailable = "tag:winback,2026:problem:try-again"
	TypeBlank       = "about:blank"
)

// FieldError points at one invalid field of the request body.
type FieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// Problem is an RFC 9457 problem details object, with field errors as the
// "errors" extension member.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// NewProblem is a problem of type about:blank whose title is the status text.
func NewProblem(status int, detail string) *Problem {
	return &Problem{Type: TypeBlank, Title: http.StatusText(status), Status: status, Detail: detail}
}

// Response renders p as an API Gateway response.
func (p *Problem) Response() events.APIGatewayV2HTTPResponse {
	return respond(p.Status, ProblemContentType, p)
}

// JSON renders v as an application/json response with the given status.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	return respond(status, "application/json", v)
}

func respond(status int, contentType string, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		status, contentType = http.StatusInternalServerError, ProblemContentType
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           contentType,
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: string(body),
	}
}
