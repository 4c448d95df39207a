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

// Event (tests only) converts an HTTP request into an API Gateway HTTP API v2.0 event.
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
