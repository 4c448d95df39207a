// Package api assembles winback's HTTP API: every route once, on one
// httpapi.Mux. The Lambda functions (through httpapi.LambdaHandler), the
// local dev server, the demo and the tests all serve what Routes returns,
// so a route behaves the same everywhere.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/ingest"
	"github.com/winback/winback/shared/report"
)

// Deps is what the API needs. A nil Orders or Reports leaves its routes
// out: the ingest function serves the order routes, the api function the
// reading ones, each with only the access it needs; the dev server serves
// both.
type Deps struct {
	Shops   httpapi.Shops
	Orders  ingest.Orders
	Reports report.Store
	Log     *slog.Logger
	// Now is the clock orders are checked against (nil: time.Now).
	Now func() time.Time
}

// Store is a store that backs every route (the DynamoDB store, memstore).
type Store interface {
	httpapi.Shops
	ingest.Orders
	report.Store
}

// All is Deps with every route over one store.
func All(st Store, log *slog.Logger) Deps {
	return Deps{Shops: st, Orders: st, Reports: st, Log: log}
}

// Routes returns the API's handler.
func Routes(d Deps) http.Handler {
	m := httpapi.NewMux(d.Log)
	auth := httpapi.NewAuth(d.Shops)
	if d.Orders != nil {
		ingest.Routes(m, ingest.Deps{Orders: d.Orders, Auth: auth, Now: d.Now})
	}
	if d.Reports != nil {
		report.Routes(m, report.Deps{Store: d.Reports, Auth: auth})
	}
	return m
}
