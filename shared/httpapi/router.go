package httpapi

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// HandlerFunc handles one API Gateway HTTP API (payload 2.0) request.
type HandlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Router dispatches requests on method and exact path; unknown paths get a
// 404 problem and known paths with another method a 405.
type Router struct {
	routes map[string]map[string]HandlerFunc // path -> method -> handler
}

// Handle registers h for method and path.
func (r *Router) Handle(method, path string, h HandlerFunc) {
	if r.routes == nil {
		r.routes = map[string]map[string]HandlerFunc{}
	}
	if r.routes[path] == nil {
		r.routes[path] = map[string]HandlerFunc{}
	}
	r.routes[path][method] = h
}

// Serve is the Lambda entry point: it routes req to its handler.
func (r *Router) Serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	methods, ok := r.routes[path]
	if !ok {
		return NewProblem(http.StatusNotFound, "no such endpoint").Response(), nil
	}
	h, ok := methods[req.RequestContext.HTTP.Method]
	if !ok {
		allowed := make([]string, 0, len(methods))
		for m := range methods {
			allowed = append(allowed, m)
		}
		sort.Strings(allowed)
		resp := NewProblem(http.StatusMethodNotAllowed, "use "+strings.Join(allowed, ", ")).Response()
		resp.Headers["Allow"] = strings.Join(allowed, ", ")
		return resp, nil
	}
	return h(ctx, req)
}
