package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// Store is what the smoke test needs of the stack's table.
type Store interface {
	CreateShop(ctx context.Context, sh shop.Shop, cred shop.Credentials) error
	DeleteShop(ctx context.Context, shopID string, opt store.DeleteShopOptions) (int, error)
	Shop(ctx context.Context, id string) (shop.Shop, error)
	APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error)
}

var _ Store = (*store.Store)(nil)

// Config is one smoke test run.
type Config struct {
	// APIURL is the API's base URL (the ApiUrl output).
	APIURL string
	// Store is the stack's table.
	Store  Store
	Client *http.Client
	// Out receives a line per step.
	Out io.Writer
	// Timeout bounds the steps (0: none); the clean-up has a minute of
	// its own whatever happened.
	Timeout time.Duration
	// Now is the clock the orders' dates come from (nil: time.Now).
	Now func() time.Time
}

// ShopNamePrefix starts the name of every shop the smoke test creates:
// DeleteShop refuses any other.
const ShopNamePrefix = "winback smoke test "

// DeleteShop deletes a shop the smoke test left behind (when its clean-up
// could not finish: the network went away, the process was killed), with
// everything under it, and refuses any shop that is not a smoke test's.
func DeleteShop(ctx context.Context, st Store, shopID string) (int, error) {
	sh, err := st.Shop(ctx, shopID)
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(sh.Name, ShopNamePrefix) {
		return 0, fmt.Errorf("shop %s is %q, not a smoke test's shop: refused", shopID, sh.Name)
	}
	return st.DeleteShop(ctx, shopID, store.DeleteShopOptions{})
}

// firstRequestPatience is how long the first request may be refused (401)
// before the new key counts as refused: an API instance that looked the
// key id up before it was written remembers it as unknown for
// httpapi.MissTTL (10 s).
const firstRequestPatience = 25 * time.Second

// cleanupTimeout bounds the clean-up.
const cleanupTimeout = time.Minute

// Run runs the smoke test's steps against c.APIURL, printing each with
// its time, and deletes the throwaway shop at the end, whatever happened
// before. It returns the first failure (or the clean-up's).
func Run(ctx context.Context, c Config) (err error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	r := &run{c: c, base: strings.TrimSuffix(c.APIURL, "/")}
	stepsCtx := ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		stepsCtx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}

	// The throwaway shop: EUR, UTC, no webhook secret (nothing to seal),
	// no Shopify domain (webhooks are refused).
	cred := shop.NewCredentials()
	sh := shop.Shop{
		ID: shop.NewID(), Name: ShopNamePrefix + c.Now().UTC().Format(time.RFC3339), Currency: "EUR",
		Timezone: "UTC", Shards: shop.DefaultShards, CreatedAt: c.Now().UTC().Truncate(time.Second),
	}
	r.key = cred.APIKey
	r.customer = "smoke-" + strings.TrimPrefix(sh.ID, "shop_")
	err = r.step(stepsCtx, "create a throwaway shop and API key in the table", func(ctx context.Context) (string, error) {
		if err := c.Store.CreateShop(ctx, sh, cred); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s, key id %s", sh.ID, cred.KeyID), nil
	})
	if err != nil {
		// Nothing may have been written, but a lost answer may hide a
		// written shop: clean up all the same.
		return errors.Join(err, r.cleanup(ctx, sh.ID, cred.KeyID))
	}
	defer func() { err = errors.Join(err, r.cleanup(ctx, sh.ID, cred.KeyID)) }()
	return r.steps(stepsCtx)
}

// run is a smoke test's state.
type run struct {
	c        Config
	base     string // the API URL without its trailing slash
	key      string // the throwaway shop's API key
	customer string // the customer id of the orders
	failed   error  // the first step that failed
}

// step runs one step and prints its line: ok with what it found, or FAIL
// with why. After a failed step, the others are skipped.
func (r *run) step(ctx context.Context, what string, fn func(context.Context) (string, error)) error {
	if r.failed != nil {
		return nil
	}
	start := time.Now()
	detail, err := fn(ctx)
	took := time.Since(start)
	if err != nil {
		fmt.Fprintf(r.c.Out, "  FAIL %7s  %s: %v\n", ms(took), what, err)
		r.failed = fmt.Errorf("%s: %w", what, err)
		return r.failed
	}
	if detail != "" {
		what += ": " + detail
	}
	fmt.Fprintf(r.c.Out, "  ok   %7s  %s\n", ms(took), what)
	return nil
}

func ms(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// orderJSON is an order as POST /v1/orders takes it.
func orderJSON(id, customerID string, created, updated time.Time, total, refunded, status string) map[string]any {
	o := map[string]any{
		"order_id": id, "customer": map[string]any{"id": customerID},
		"created_at": created.Format(time.RFC3339), "updated_at": updated.Format(time.RFC3339),
		"currency": "EUR", "total": total, "status": status,
		"line_items": []map[string]any{{"sku": "SMOKE-1", "title": "Smoke test item", "quantity": 1, "price": total}},
	}
	if refunded != "" {
		o["refunded_total"] = refunded
	}
	return o
}

// steps are the smoke test's requests, in order. Orders a, b and c of one
// customer: a (19.99) on day 1; b (35.00) and c (12.50) on day 2, in one
// batch; then b refunded in full and c in part (2.50). The summary is
// then exact: 2 paid orders (a, c), 2 purchase days, 19.99 + 10.00 =
// 29.99 spent, 10.00 of it after the first purchase day.
func (r *run) steps(ctx context.Context) error {
	day1 := r.c.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3).Add(10 * time.Hour)
	day2 := day1.AddDate(0, 0, 1)
	later := day2.Add(2 * time.Hour)
	a := orderJSON("smoke-a", r.customer, day1, day1, "19.99", "", "paid")
	b := orderJSON("smoke-b", r.customer, day2, day2, "35.00", "", "paid")
	c := orderJSON("smoke-c", r.customer, day2, day2, "12.50", "", "paid")
	bRefunded := orderJSON("smoke-b", r.customer, day2, later, "35.00", "35.00", "refunded")
	cRefunded := orderJSON("smoke-c", r.customer, day2, later, "12.50", "2.50", "paid")
	customerPath := "/v1/customers/" + url.PathEscape(r.customer)

	r.postOrder(ctx, "POST /v1/orders: one order", a, http.StatusCreated, "created", firstRequestPatience)
	r.postOrder(ctx, "POST /v1/orders: the same order again", a, http.StatusOK, "unchanged", 0)
	_ = r.step(ctx, "POST /v1/orders: a batch of two orders", func(ctx context.Context) (string, error) {
		res, err := r.do(ctx, http.MethodPost, "/v1/orders", r.key, map[string]any{"orders": []any{b, c}})
		if err != nil {
			return "", err
		}
		var out struct {
			Counts map[string]int `json:"counts"`
		}
		if err := res.want(http.StatusCreated, "application/json", &out); err != nil {
			return "", err
		}
		if out.Counts["created"] != 2 || len(out.Counts) != 1 {
			return "", fmt.Errorf("counts %v; want created 2 (%s)", out.Counts, res.body)
		}
		return "201, created 2", nil
	})
	r.postOrder(ctx, "POST /v1/orders: a full refund", bRefunded, http.StatusOK, "updated", 0)
	r.postOrder(ctx, "POST /v1/orders: a partial refund", cRefunded, http.StatusOK, "updated", 0)
	_ = r.step(ctx, "GET "+customerPath+": the summary", func(ctx context.Context) (string, error) {
		res, err := r.do(ctx, http.MethodGet, customerPath, r.key, nil)
		if err != nil {
			return "", err
		}
		var got struct {
			ID           string      `json:"customer_id"`
			Currency     string      `json:"currency"`
			First        string      `json:"first_purchase_day"`
			Last         string      `json:"last_purchase_day"`
			PaidOrders   json.Number `json:"paid_orders"`
			PurchaseDays json.Number `json:"purchase_days"`
			TotalSpend   json.Number `json:"total_spend"`
			RepeatSpend  json.Number `json:"repeat_spend"`
		}
		if err := res.want(http.StatusOK, "application/json", &got); err != nil {
			return "", err
		}
		want := []struct{ field, got, want string }{
			{"customer_id", got.ID, r.customer},
			{"currency", got.Currency, "EUR"},
			{"first_purchase_day", got.First, day1.Format(time.DateOnly)},
			{"last_purchase_day", got.Last, day2.Format(time.DateOnly)},
			{"paid_orders", got.PaidOrders.String(), "2"},
			{"purchase_days", got.PurchaseDays.String(), "2"},
			{"total_spend", got.TotalSpend.String(), "29.99"},
			{"repeat_spend", got.RepeatSpend.String(), "10.00"},
		}
		var wrong []string
		for _, w := range want {
			if w.got != w.want {
				wrong = append(wrong, fmt.Sprintf("%s %s, want %s", w.field, w.got, w.want))
			}
		}
		if len(wrong) > 0 {
			return "", errors.New(strings.Join(wrong, "; "))
		}
		return "2 paid orders on 2 days, €29.99 spent, €10.00 after the first day: exact", nil
	})
	_ = r.step(ctx, "GET "+customerPath+" with a wrong key", func(ctx context.Context) (string, error) {
		keyID, _, err := shop.SplitKey(r.key)
		if err != nil {
			return "", err
		}
		res, err := r.do(ctx, http.MethodGet, customerPath, "wbk_"+keyID+"_"+strings.Repeat("0", 43), nil)
		if err != nil {
			return "", err
		}
		var p problem
		if err := res.want(http.StatusUnauthorized, "application/problem+json", &p); err != nil {
			return "", err
		}
		if p.Status != http.StatusUnauthorized {
			return "", fmt.Errorf("problem status %d; want 401 (%s)", p.Status, res.body)
		}
		if bytes.Contains(res.body, []byte(r.customer)) {
			return "", fmt.Errorf("the refusal names the customer: %s", res.body)
		}
		return "401 application/problem+json", nil
	})
	_ = r.step(ctx, "DELETE "+customerPath+": erasure", func(ctx context.Context) (string, error) {
		res, err := r.do(ctx, http.MethodDelete, customerPath, r.key, nil)
		if err != nil {
			return "", err
		}
		if err := res.want(http.StatusNoContent, "", nil); err != nil {
			return "", err
		}
		return "204", nil
	})
	_ = r.step(ctx, "GET "+customerPath+" after the erasure", func(ctx context.Context) (string, error) {
		res, err := r.do(ctx, http.MethodGet, customerPath, r.key, nil)
		if err != nil {
			return "", err
		}
		var p problem
		if err := res.want(http.StatusNotFound, "application/problem+json", &p); err != nil {
			return "", err
		}
		return "404", nil
	})
	return r.failed
}

// postOrder posts one order and checks the status and the result. A 401
// is tried again for patience (the first request after the key was
// written); orders are idempotent, so a repeated post changes nothing.
func (r *run) postOrder(ctx context.Context, what string, o map[string]any, status int, result string, patience time.Duration) {
	_ = r.step(ctx, what, func(ctx context.Context) (string, error) {
		start := time.Now()
		for attempt := 1; ; attempt++ {
			res, err := r.do(ctx, http.MethodPost, "/v1/orders", r.key, o)
			if err != nil {
				return "", err
			}
			if res.status == http.StatusUnauthorized && time.Since(start) < patience {
				select {
				case <-ctx.Done():
					return "", ctx.Err()
				case <-time.After(2 * time.Second):
				}
				continue
			}
			var out struct {
				Result string `json:"result"`
			}
			if err := res.want(status, "application/json", &out); err != nil {
				return "", err
			}
			if out.Result != result {
				return "", fmt.Errorf("result %q; want %q (%s)", out.Result, result, res.body)
			}
			detail := fmt.Sprintf("%d %s", status, result)
			if attempt > 1 {
				detail += fmt.Sprintf(" (after %d refusals of the new key)", attempt-1)
			}
			return detail, nil
		}
	})
}

// problem is the part of an RFC 9457 problem the smoke test reads.
type problem struct {
	Status int `json:"status"`
}

// response is an HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// want checks the status and the media type (none when contentType is
// empty) and decodes the body into v (unless nil).
func (res response) want(status int, contentType string, v any) error {
	if res.status != status {
		return fmt.Errorf("status %d; want %d (%s)", res.status, status, trim(res.body))
	}
	if contentType != "" {
		mt, _, _ := mime.ParseMediaType(res.header.Get("Content-Type"))
		if mt != contentType {
			return fmt.Errorf("Content-Type %q; want %s", res.header.Get("Content-Type"), contentType)
		}
	}
	if v != nil {
		if err := json.Unmarshal(res.body, v); err != nil {
			return fmt.Errorf("decode %s: %w", trim(res.body), err)
		}
	}
	return nil
}

// trim shortens a body for a message.
func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// do sends a request with the API key (none when empty) and a JSON body
// (none when nil) and reads the answer.
func (r *run) do(ctx context.Context, method, path, key string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := r.c.Client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// cleanup deletes the throwaway shop and everything under it, and checks
// that its shop item and API key are gone. It runs on a context of its
// own: an interrupted or timed-out run still cleans up.
func (r *run) cleanup(parent context.Context, shopID, keyID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), cleanupTimeout)
	defer cancel()
	r.failed = nil // the clean-up runs whatever failed before
	return r.step(ctx, "clean up: delete the shop and everything under it", func(ctx context.Context) (string, error) {
		n, err := r.c.Store.DeleteShop(ctx, shopID, store.DeleteShopOptions{KeyIDs: []string{keyID}})
		if err != nil && !errors.Is(err, shop.ErrNotFound) {
			return "", err
		}
		// Both reads are eventually consistent: a deleted item may show
		// for a moment.
		var shopErr, keyErr error
		for attempt := 0; attempt < 10; attempt++ {
			_, shopErr = r.c.Store.Shop(ctx, shopID)
			_, _, keyErr = r.c.Store.APIKey(ctx, keyID)
			if errors.Is(shopErr, shop.ErrNotFound) && errors.Is(keyErr, shop.ErrNotFound) {
				return fmt.Sprintf("%d items of %s deleted", n, shopID), nil
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
		return "", fmt.Errorf("shop %s or API key %s still readable after the deletion (%v; %v)", shopID, keyID, shopErr, keyErr)
	})
}
