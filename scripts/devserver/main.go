// Command devserver serves winback's HTTP API on 127.0.0.1:$PORT (8080 by
// default) over the local stack: a plain http.Server over the very handler
// (api.Routes) the Lambda serves through its API Gateway adapter, so curl
// works locally exactly as against a deployment.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // the local tools resolve shops' time zones on any machine

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("devserver", "error", err)
		os.Exit(1)
	}
}

// newHandler serves the API's routes over st, as the Lambda does.
func newHandler(st *store.Store, log *slog.Logger) http.Handler {
	return api.Routes(api.All(st, log))
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := localenv.Store(ctx)
	if err != nil {
		return err
	}

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	srv := &http.Server{
		Addr:              net.JoinHostPort("127.0.0.1", port),
		Handler:           newHandler(st, log),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("winback API listening", "addr", "http://"+srv.Addr, "table", localenv.Table(), "dynamodb", localenv.DynamoDBEndpoint())
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
