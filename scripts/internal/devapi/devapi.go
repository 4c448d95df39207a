// Package devapi is the dev server's handler: every route of the API
// (api.Routes, as the Lambda functions serve them) and one local-only page,
// GET /v1/report.html, the shop's report. The dev server (scripts/devserver)
// and the demo (winback demo) serve it.
package devapi

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/winback/winback/scripts/internal/shopreport"
	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/httpapi"
)

// Store is what the dev server serves: every API route and the report
// (*store.Store over DynamoDB Local; memstore in tests).
type Store interface {
	api.Store
	shopreport.Store
}

// NewHandler serves the API's routes over st, as the Lambda does, and the
// report page. The page is a dev-server route only: it links the model and
// plotting code, which no Lambda function may.
func NewHandler(st Store, log *slog.Logger, now func() time.Time) http.Handler {
	return NewLimitedHandler(st, log, now, httpapi.Limits{})
}

// NewLimitedHandler is NewHandler with the functions' request limits
// (httpapi.Limits; the zero value: none, as the demo and the tests run).
func NewLimitedHandler(st Store, log *slog.Logger, now func() time.Time, limits httpapi.Limits) http.Handler {
	m := httpapi.NewMux(log)
	auth := httpapi.NewAuth(st)
	m.Handle("GET /v1/report.html", auth.RequireKey(reportPage(st, now)))
	m.Handle("/v1/report.html", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.NewProblem(http.StatusMethodNotAllowed, "use GET, HEAD").WithHeader("Allow", "GET, HEAD").Write(w)
	}))
	d := api.All(st, log)
	d.Limits = limits
	m.Handle("/", api.Routes(d))
	return m
}

// reportPage answers GET /v1/report.html: the authenticated shop's report
// as one self-contained HTML page, built from the store on each request.
// The Content-Security-Policy lets the page fetch nothing at all.
func reportPage(st shopreport.Store, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sh, _ := httpapi.ShopFrom(ctx)
		rep, err := shopreport.Build(ctx, st, sh.ID, now())
		if errors.Is(err, shopreport.ErrNoReport) {
			httpapi.NewProblem(http.StatusNotFound, "no report yet: the nightly job has not scored this shop").Write(w)
			return
		}
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		page, err := shopreport.RenderHTML(rep)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(page)
	})
}
