package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func req(method, path, contentType, body string) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, Headers: map[string]string{"content-type": contentType}}
	r.RequestContext.HTTP.Method = method
	return r
}

func b64(r events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(r.Body)), true
	return r
}

func TestJSONBody(t *testing.T) {
	big := strings.Repeat("a", MaxBody+1)
	notBase64 := req("POST", "/", "application/json", "!!!not base64")
	notBase64.IsBase64Encoded = true
	tests := []struct {
		name   string
		r      events.APIGatewayV2HTTPRequest
		status int // 0: accepted
	}{
		{"json", req("POST", "/", "application/json", `{}`), 0},
		{"json with charset", req("POST", "/", "application/json; charset=utf-8", `{}`), 0},
		{"problem+json suffix", req("POST", "/", "application/merge-patch+json", `{}`), 0},
		{"form", req("POST", "/", "application/x-www-form-urlencoded", `a=1`), 415},
		{"no content type", req("POST", "/", "", `{}`), 415},
		{"too large", req("POST", "/", "application/json", big), 413},
		{"exactly the limit", req("POST", "/", "application/json", big[1:]), 0},
		{"empty", req("POST", "/", "application/json", ""), 400},
		{"base64", b64(req("POST", "/", "application/json", `{"a":1}`)), 0},
		{"bad base64", notBase64, 400},
		{"too large base64", b64(req("POST", "/", "application/json", big)), 413},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, p := JSONBody(tc.r)
			switch {
			case tc.status == 0 && p != nil:
				t.Fatalf("rejected: %+v", p)
			case tc.status != 0 && (p == nil || p.Status != tc.status):
				t.Fatalf("problem %+v, want status %d", p, tc.status)
			case tc.status == 0 && len(body) == 0:
				t.Fatal("empty body accepted")
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "": "", "Bearer ": "",
	} {
		r := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"Authorization": header}}
		got, ok := BearerToken(r)
		if got != want || ok != (want != "") {
			t.Errorf("BearerToken(%q) = %q, %v", header, got, ok)
		}
	}
}

func TestRouterAndBridge(t *testing.T) {
	var r Router
	var seen events.APIGatewayV2HTTPRequest
	r.Handle("POST", "/v1/echo", func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		seen = ev
		return JSON(http.StatusCreated, map[string]string{"body": ev.Body}), nil
	})
	srv := httptest.NewServer(NewServer(r.Serve))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/v1/echo/?shop=s1", "application/json", strings.NewReader(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(body), `{\"x\":1}`) {
		t.Fatalf("echo: %d %s", resp.StatusCode, body)
	}
	if seen.Version != "2.0" || seen.RequestContext.HTTP.Method != "POST" || seen.QueryStringParameters["shop"] != "s1" ||
		seen.Headers["content-type"] != "application/json" || seen.RequestContext.RequestID == "" {
		t.Fatalf("event %+v", seen)
	}

	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{{"GET", "/v1/echo", 405, "POST"}, {"POST", "/v1/other", 404, ""}} {
		rq, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		var p Problem
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != tc.status || p.Status != tc.status || resp.Header.Get("Content-Type") != ProblemContentType || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %+v allow=%q", tc.method, tc.path, resp.StatusCode, p, resp.Header.Get("Allow"))
		}
	}
}

func TestBinaryBodiesCrossTheBridgeAsBase64(t *testing.T) {
	rq := httptest.NewRequest("POST", "/x", strings.NewReader("\xff\xfe"))
	ev, err := Event(rq)
	if err != nil || !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte("\xff\xfe")) {
		t.Fatalf("Event() = %+v, %v", ev, err)
	}
}
