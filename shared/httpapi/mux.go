package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Mux routes requests with the standard library's method and path patterns
// ("POST /v1/orders", "GET /v1/customers/{id}") and answers what matches no
// route with RFC 9457 problems: 404, or 405 with the Allow header the
// ServeMux computed. It gives every request a logger carrying its request
// id and route, and turns a handler's panic into a 500 problem.
type Mux struct {
	mux *http.ServeMux
	log *slog.Logger
}

// NewMux returns an empty mux whose request loggers derive from log
// (slog's default logger when nil).
func NewMux(log *slog.Logger) *Mux {
	if log == nil {
		log = slog.Default()
	}
	return &Mux{mux: http.NewServeMux(), log: log}
}

// Handle registers h for pattern (see http.ServeMux).
func (m *Mux) Handle(pattern string, h http.Handler) { m.mux.Handle(pattern, h) }

// HandleFunc registers f for pattern.
func (m *Mux) HandleFunc(pattern string, f http.HandlerFunc) { m.mux.Handle(pattern, f) }

// ServeHTTP routes r. A trailing slash is ignored — one the client wrote,
// not an escaped "%2F" ending a path parameter.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(r.URL.EscapedPath(), "/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimRight(p, "/")
		r2.URL.RawPath = strings.TrimRight(r.URL.RawPath, "/")
		if r2.URL.Path == "" {
			r2.URL.Path, r2.URL.RawPath = "/", ""
		}
		r = r2
	}
	id := RequestID(r.Context())
	if id == "" {
		id = localRequestID()
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	}
	w.Header().Set("X-Request-Id", id)
	h, pattern := m.mux.Handler(r)
	if pattern == "" {
		unrouted(w, r, h)
		return
	}
	log := m.log.With("request_id", id, "route", pattern)
	r = r.WithContext(context.WithValue(r.Context(), loggerKey{}, log))
	defer func() {
		if v := recover(); v != nil {
			log.ErrorContext(r.Context(), "handler panicked", "panic", fmt.Sprint(v))
			NewProblem(http.StatusInternalServerError, "").Write(w)
		}
	}()
	m.mux.ServeHTTP(w, r)
}

// unrouted answers a request no pattern matched: the ServeMux's own answer
// (404, 405 with Allow, or a redirect to the cleaned path) as a problem.
func unrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		allow := rec.header.Get("Allow")
		NewProblem(http.StatusMethodNotAllowed, "use "+allow).WithHeader("Allow", allow).Write(w)
	case http.StatusNotFound:
		NewProblem(http.StatusNotFound, "no such endpoint").Write(w)
	default:
		for k, vs := range rec.header {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.status)
	}
}

// statusRecorder keeps the status and headers a handler writes, and drops its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}
func (s *statusRecorder) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}

type (
	requestIDKey struct{}
	loggerKey    struct{}
)

// WithRequestID returns ctx carrying the request id (API Gateway's, in Lambda).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the id of the request ctx belongs to ("" outside one).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

var localSeq atomic.Int64

func localRequestID() string {
	return fmt.Sprintf("local-%d-%d", time.Now().UnixNano(), localSeq.Add(1))
}

// Log is the request's logger (request id, route, and the shop once
// authenticated); slog's default logger outside a request.
func Log(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithLogAttrs returns ctx whose request logger also carries args.
func WithLogAttrs(ctx context.Context, args ...any) context.Context {
	return context.WithValue(ctx, loggerKey{}, Log(ctx).With(args...))
}
