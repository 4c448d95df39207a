// Command devserver serves winback's HTTP API on 127.0.0.1:$PORT (8080 by
// default) over the local stack: a plain http.Server over the very handler
// (api.Routes) the Lambda serves through its API Gateway adapter, so curl
// works locally exactly as against a deployment. Beside the API it serves
// one local-only page, GET /v1/report.html: the shop's report
// (scripts/internal/shopreport) for the shop of the API key.
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

	"github.com/winback/winback/scripts/internal/devapi"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/httpapi"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("devserver", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := localenv.Store(ctx)
	if err != nil {
		return err
	}

	// The deployed functions' request limits, when WINBACK_LIMITS=1: to
	// try the 429s locally (the demo and the tests run without them).
	var limits httpapi.Limits
	if os.Getenv("WINBACK_LIMITS") == "1" {
		if limits, err = httpapi.LimitsFromEnv(os.Getenv); err != nil {
			return err
		}
		log.Info("request limits on", "shop_rate", limits.ShopRate, "shop_burst", limits.ShopBurst,
			"unauth_rate", limits.UnauthRate, "unauth_burst", limits.UnauthBurst)
	}

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	srv := &http.Server{
		Addr:              net.JoinHostPort("127.0.0.1", port),
		Handler:           devapi.NewLimitedHandler(st, log, time.Now, limits),
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
