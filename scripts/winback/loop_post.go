package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/winback/winback/internal/demoshop"
	"github.com/winback/winback/shared/ingest"
)

// postStats counts what posting a history did.
type postStats struct {
	Events   int
	Requests int
	// Results counts the orders by the API's result (created, updated,
	// unchanged, duplicate, rejected, …).
	Results map[string]int
	// Refused counts the requests answered 4xx (the malformed ones).
	Refused int
	Took    time.Duration
}

func (s postStats) String() string {
	var ks []string
	for k := range s.Results {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %s", k, thousands(int64(s.Results[k]))))
	}
	rate := float64(s.Events) / max(s.Took.Seconds(), 1e-3)
	return fmt.Sprintf("%s events in %s requests, %s (%.0f events/s): %s; %d malformed requests refused with a 4xx problem",
		thousands(int64(s.Events)), thousands(int64(s.Requests)), fmtDur(s.Took), rate, strings.Join(parts, ", "), s.Refused)
}

// poster sends a generated shop's events to the API, as the shop would:
// its API orders in batches of 100, its Shopify customers' orders as
// signed webhooks, each malformed request alone.
type poster struct {
	base, apiKey, secret, shopID string
	out                          io.Writer
	stats                        postStats
}

// maxBatch is the API's batch size.
const maxBatch = 100

// post sends evs in time order, printing progress every few seconds.
func (p *poster) post(ctx context.Context, evs []demoshop.Event, label string) error {
	if p.stats.Results == nil {
		p.stats.Results = map[string]int{}
	}
	t0 := time.Now()
	last := t0
	done := 0
	var batch []demoshop.Order
	inBatch := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		body, err := demoshop.BatchBody(batch)
		if err != nil {
			return err
		}
		if err := p.send(ctx, "/v1/orders", body, nil, len(batch), false); err != nil {
			return err
		}
		done += len(batch)
		batch, inBatch = batch[:0], map[string]bool{}
		return nil
	}
	for _, e := range evs {
		switch {
		case e.Kind == demoshop.KindMalformed:
			if err := flush(); err != nil {
				return err
			}
			if err := p.send(ctx, "/v1/orders", e.Body, nil, 1, true); err != nil {
				return err
			}
			done++
		case e.Shopify:
			body, err := demoshop.ShopifyPayload(e.Order)
			if err != nil {
				return err
			}
			hdr := map[string]string{
				"X-Shopify-Topic": e.Topic(), "X-Shopify-Webhook-Id": e.WebhookID,
				"X-Shopify-Hmac-Sha256": demoshop.Sign(p.secret, body), "X-Shopify-Shop-Domain": demoshop.ShopDomain,
			}
			if err := p.send(ctx, "/v1/webhooks/shopify/orders?shop="+url.QueryEscape(p.shopID), body, hdr, 1, false); err != nil {
				return err
			}
			done++
		default:
			// A batch holds one version of an order: a later version waits
			// for the next batch, so versions arrive in order.
			if inBatch[e.Order.ID] || len(batch) == maxBatch {
				if err := flush(); err != nil {
					return err
				}
			}
			batch = append(batch, e.Order)
			inBatch[e.Order.ID] = true
		}
		if time.Since(last) > 2*time.Second {
			last = time.Now()
			rate := float64(done) / time.Since(t0).Seconds()
			left := time.Duration(float64(len(evs)-done)/max(rate, 1)) * time.Second
			fmt.Fprintf(p.out, "   [%s] %s: %s/%s events (%.0f%%) · %.0f/s · ~%s left\n", fmtDur(time.Since(t0)), label,
				thousands(int64(done)), thousands(int64(len(evs))), 100*float64(done)/float64(len(evs)), rate, fmtDur(left))
		}
	}
	if err := flush(); err != nil {
		return err
	}
	p.stats.Events += len(evs)
	p.stats.Took += time.Since(t0)
	return nil
}

// send posts one request and counts its results. A malformed request must
// be refused with a 4xx problem; anything else must be answered 2xx.
func (p *poster) send(ctx context.Context, path string, body []byte, hdr map[string]string, orders int, malformed bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if hdr == nil {
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	p.stats.Requests++
	if malformed {
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || resp.Header.Get("Content-Type") != "application/problem+json" {
			return fmt.Errorf("a malformed request was answered %s %s", resp.Status, out)
		}
		p.stats.Refused++
		return nil
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s (%d orders): %s %s", path, orders, resp.Status, out)
	}
	var br ingest.BatchResponse
	if err := json.Unmarshal(out, &br); err == nil && br.Counts != nil {
		for k, v := range br.Counts {
			p.stats.Results[k] += v
		}
		return nil
	}
	var one struct {
		Result string `json:"result"`
	}
	if err := json.Unmarshal(out, &one); err != nil || one.Result == "" {
		return fmt.Errorf("POST %s: unexpected answer %s", path, out)
	}
	p.stats.Results[one.Result]++
	return nil
}
