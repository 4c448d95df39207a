package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestNewShopValidatesSettings(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, shopName, currency, tz string
		shards                       int
		wantErr                      string
	}{
		{"defaults", "Acme", "USD", "UTC", 16, ""},
		{"euro shop in Berlin", "Acme", "EUR", "Europe/Berlin", 4, ""},
		{"no name", "", "USD", "UTC", 16, "--name"},
		{"unknown currency", "Acme", "EURO", "UTC", 16, "--currency"},
		{"unknown zone", "Acme", "USD", "Mars/Olympus", 16, "--timezone"},
		{"machine-local zone", "Acme", "USD", "Local", 16, "--timezone"},
		{"no shards", "Acme", "USD", "UTC", 0, "--shards"},
		{"too many shards", "Acme", "USD", "UTC", 101, "--shards"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh, cred, err := newShop(tc.shopName, tc.currency, tc.tz, tc.shards, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(sh.ID, "shop_") || sh.WebhookSecret != cred.WebhookSecret || cred.APIKey == "" ||
				sh.Currency != tc.currency || sh.Timezone != tc.tz || sh.Shards != tc.shards || !sh.CreatedAt.Equal(now) {
				t.Fatalf("shop %+v, credentials %+v", sh, cred)
			}
		})
	}
}

func TestShopCommandUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{"shop"}, {"shop", "delete"}, {"shop", "set-webhook-secret", "--shop", "x"}} {
		err := run(args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "usage: winback shop create") {
			t.Errorf("run(%v) = %v, want the usage", args, err)
		}
	}
	if err := run([]string{"shop", "create", "--name", ""}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Errorf("create without a name: %v", err)
	}
}
