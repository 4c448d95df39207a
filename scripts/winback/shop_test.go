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
	tests := []struct {
		args      []string
		wantErr   string
		wantUsage string
	}{
		{[]string{"shop"}, "missing subcommand", "winback shop create --name NAME"},
		{[]string{"shop", "delete"}, `unknown subcommand "delete"`, "winback shop set-webhook-secret --shop SHOP_ID"},
		{[]string{"shop", "set-webhook-secret", "--shop", "x"}, "--secret are required", "usage: winback shop set-webhook-secret"},
		{[]string{"shop", "create", "--name", ""}, "--name is required", "usage: winback shop create"},
		{[]string{"shop", "create", "--name", "Acme", "--shopify-domain", "acme.com"}, "--shopify-domain", ""},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := run(tt.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("run(%q) = %v; want an error about %s", tt.args, err, tt.wantErr)
		}
		if !strings.Contains(errOut.String(), tt.wantUsage) {
			t.Errorf("run(%q) printed %q to stderr; want the usage %q", tt.args, errOut.String(), tt.wantUsage)
		}
	}
}

func TestShopifyDomain(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"my-shop.myshopify.com", "my-shop.myshopify.com", true},
		{"My-Shop.MyShopify.com", "my-shop.myshopify.com", true},
		{" shop1.myshopify.com ", "shop1.myshopify.com", true},
		{"myshopify.com", "", false},
		{".myshopify.com", "", false},
		{"shop.example.com", "", false},
		{"a.b.myshopify.com", "", false},
		{"-shop.myshopify.com", "", false},
		{"shop_1.myshopify.com", "", false},
		{"https://shop.myshopify.com", "", false},
	}
	for _, tt := range tests {
		got, err := shopifyDomain(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("shopifyDomain(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
