// Package api assembles winback's HTTP API: every route once, on one
// httpapi.Mux. The ingest Lambda (through httpapi.LambdaHandler), the local
// dev server, the demo and the tests all serve what Routes returns, so a
// route behaves the same everywhere.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/ingest"
)

// Store is the storage the API's routes read and write.
type Store interface {
	ingest.Orders
	httpapi.Shops
}

// Deps is what the API needs.
type Deps struct {
	Store Store
	Log   *slog.Logger
	// Now is the clock orders are checked against (nil: time.Now).
	Now func() time.Time
}

// Routes returns the API's handler.
func Routes(d Deps) http.Handler {
	m := httpapi.NewMux(d.Log)
	auth := httpapi.NewAuth(d.Store)
	ingest.Routes(m, ingest.Deps{Orders: d.Store, Auth: auth, Now: d.Now})
	return m
}
