// Package api assembles winback's HTTP API: every route once, on one
// httpapi.Mux. The local dev server, the demo and the tests serve what
// Routes returns; the Lambda functions (through httpapi.LambdaHandler)
// serve its two parts, OrderRoutes and ReadingRoutes, registered by the
// same code, so a route behaves the same everywhere.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/winback/winback/shared/campaign/web"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/ingest"
	"github.com/winback/winback/shared/report"
)

// Deps is what the API needs. A nil Orders, Reports or Campaigns leaves
// its routes out: the ingest function serves the order routes, the api
// function the reading ones, the campaign reports and the unsubscribe
// page, each with only the access it needs; the dev server serves all.
type Deps struct {
	Shops     httpapi.Shops
	Orders    ingest.Orders
	Reports   report.Store
	Campaigns web.Store
	Log       *slog.Logger
	// Now is the clock orders are checked against and unsubscribes are
	// stamped with (nil: time.Now).
	Now func() time.Time
	// MetricsNamespace is where the routes' custom metrics go
	// (lambdaenv.MetricsNamespace; "": none).
	MetricsNamespace string
	// Limits are the request limits of the routes behind an API key
	// (httpapi.LimitsFromEnv in the functions; zero: none).
	Limits httpapi.Limits
}

// Store is a store that backs every route (the DynamoDB store, memstore).
type Store interface {
	httpapi.Shops
	ingest.Orders
	report.Store
	web.Store
}

// All is Deps with every route over one store.
func All(st Store, log *slog.Logger) Deps {
	return Deps{Shops: st, Orders: st, Reports: st, Campaigns: st, Log: log}
}

// Routes returns the API's handler: every route whose store Deps has.
func Routes(d Deps) http.Handler { return serve(d, orderRoutes, readingRoutes) }

// OrderRoutes and ReadingRoutes return the handlers of the ingest and the
// api function: Routes with only the order routes, and without them.
// Unlike Routes, each links only its own routes' code into the binary
// that calls it, which keeps the functions within their size budget.
func OrderRoutes(d Deps) http.Handler { return serve(d, orderRoutes) }

// ReadingRoutes: see OrderRoutes.
func ReadingRoutes(d Deps) http.Handler { return serve(d, readingRoutes) }

// serve registers the routes of each part on one mux.
func serve(d Deps, parts ...func(*httpapi.Mux, *httpapi.Auth, Deps)) http.Handler {
	m := httpapi.NewMux(d.Log)
	auth := httpapi.NewAuth(d.Shops).Limit(d.Limits)
	for _, p := range parts {
		p(m, auth, d)
	}
	return m
}

// orderRoutes registers POST /v1/orders and the Shopify webhook.
func orderRoutes(m *httpapi.Mux, auth *httpapi.Auth, d Deps) {
	if d.Orders != nil {
		ingest.Routes(m, ingest.Deps{Orders: d.Orders, Auth: auth, Now: d.Now, MetricsNamespace: d.MetricsNamespace})
	}
}

// readingRoutes registers the customer, report and campaign routes, and
// the unsubscribe page.
func readingRoutes(m *httpapi.Mux, auth *httpapi.Auth, d Deps) {
	if d.Reports != nil {
		report.Routes(m, report.Deps{Store: d.Reports, Auth: auth})
	}
	if d.Campaigns != nil {
		web.Routes(m, web.Deps{Store: d.Campaigns, Auth: auth, Now: d.Now})
	}
}
