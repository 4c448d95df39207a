package httpapi

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

var requestSeq atomic.Int64

// NewServer serves h over net/http: each request becomes the API Gateway
// HTTP API (payload 2.0) event the Lambda would receive, and the handler's
// response is written back. The local dev server and end-to-end tests use it.
func NewServer(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := Event(r)
		if err != nil {
			writeResponse(w, NewProblem(http.StatusRequestEntityTooLarge, err.Error()).Response())
			return
		}
		resp, err := h(r.Context(), ev)
		if err != nil {
			// API Gateway answers a failed invocation with a bare 500.
			resp = NewProblem(http.StatusInternalServerError, "").Response()
		}
		writeResponse(w, resp)
	})
}

// Event converts an HTTP request into an API Gateway HTTP API v2.0 event.
// Bodies beyond API Gateway's 10 MB payload limit are refused.
func Event(r *http.Request) (events.APIGatewayV2HTTPRequest, error) {
	const gatewayLimit = 10 << 20
	body, err := io.ReadAll(io.LimitReader(r.Body, gatewayLimit+1))
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("read body: %w", err)
	}
	if len(body) > gatewayLimit {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("the body exceeds API Gateway's 10 MB limit")
	}
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	var cookies []string
	if c := headers["cookie"]; c != "" {
		cookies = strings.Split(c, "; ")
		delete(headers, "cookie")
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              "$default",
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:  "000000000000",
			APIID:      "local",
			DomainName: r.Host,
			Stage:      "$default",
			RequestID:  fmt.Sprintf("local-%d-%d", now.UnixNano(), requestSeq.Add(1)),
			Time:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto,
				SourceIP: sourceIP, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(query) == 0 {
		ev.QueryStringParameters = nil
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return ev, nil
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			body = b
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
