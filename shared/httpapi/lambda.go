package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// LambdaHandler is the Lambda entry point that serves h from API Gateway
// HTTP API (payload 2.0) events: each event becomes an *http.Request, and
// what h writes becomes the response event. Binary bodies cross as base64
// in both directions; cookies use the payload's own cookies fields.
func LambdaHandler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, p := Request(ctx, ev)
		rec := &recorder{header: http.Header{}}
		if p != nil {
			rec.header.Set("X-Request-Id", ev.RequestContext.RequestID)
			p.Write(rec)
		} else {
			h.ServeHTTP(rec, r)
		}
		return rec.response(), nil
	}
}

// Request converts an API Gateway HTTP API v2.0 event into the request it
// describes, carrying the event's request id in its context.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, *Problem) {
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	u, err := url.Parse(escapePath(path))
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(path, "/") {
		return nil, NewProblem(http.StatusBadRequest, "the request path is not valid")
	}
	u.RawQuery = ev.RawQueryString
	if u.RawQuery == "" && len(ev.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, NewProblem(http.StatusBadRequest, "the body is not valid base64")
		}
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(WithRequestID(ctx, ev.RequestContext.RequestID), method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, NewProblem(http.StatusBadRequest, "the request could not be read")
	}
	r.URL, r.RequestURI = u, u.RequestURI()
	for k, v := range ev.Headers {
		r.Header.Set(k, v) // API Gateway has already joined repeated headers with commas
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.Proto = ev.RequestContext.HTTP.Protocol
	if sip := ev.RequestContext.HTTP.SourceIP; sip != "" {
		r.RemoteAddr = net.JoinHostPort(sip, "0")
	}
	return r, nil
}

// escapePath makes rawPath a valid escaped path. HTTP APIs deliver it
// percent-decoded (REST APIs and function URLs do not), so a literal "?",
// "#", space or non-ASCII byte must not be read as URL syntax; escape
// sequences already there are kept. A "%2F" in a path parameter arrives as
// "/" and cannot be told apart from a separator; a trailing one is kept as
// part of the last segment ("%2F"), so that /v1/customers/x%2F can never
// reach customer "x" (API Gateway's exact routes never send a bare
// trailing slash anyway).
func escapePath(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '/' && i == len(raw)-1 && i > 0:
			b.WriteString("%2F")
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			b.WriteByte(c)
		case c == '/' || isPathChar(c):
			b.WriteByte(c)
		default:
			b.WriteString(fmt.Sprintf("%%%02X", c))
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isPathChar reports whether c may stand unescaped in a path segment
// (RFC 3986 pchar, less pct-encoded).
func isPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// recorder is the http.ResponseWriter a Lambda invocation writes into.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rw *recorder) Header() http.Header { return rw.header }

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
}

func (rw *recorder) Write(b []byte) (int, error) {
	rw.WriteHeader(http.StatusOK)
	return rw.body.Write(b)
}

// response is the recorded answer as an API Gateway v2.0 response event.
func (rw *recorder) response() events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: rw.status, Headers: map[string]string{}}
	if resp.StatusCode == 0 {
		resp.StatusCode = http.StatusOK
	}
	for k, vs := range rw.header {
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if b := rw.body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return resp
}
