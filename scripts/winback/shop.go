package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// runTable runs "winback table create".
func runTable(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "create" {
		return fmt.Errorf("usage: winback table create")
	}
	if _, err := localenv.Store(ctx); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"table": localenv.Table()})
}

// newShopJSON is what "winback shop create" prints.
type newShopJSON struct {
	ShopID        string `json:"shop_id"`
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
	Currency      string `json:"currency"`
	Timezone      string `json:"timezone"`
}

const shopUsage = `usage: winback shop create --name NAME [--currency USD] [--timezone UTC] [--shards 16] [--webhook-secret S]
       winback shop set-webhook-secret --shop SHOP_ID --secret S`

// runShop runs "winback shop create|set-webhook-secret ...".
func runShop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "set-webhook-secret" {
		return runSetWebhookSecret(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%s", shopUsage)
	}
	fs := flag.NewFlagSet("shop create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the shop's name (required)")
	currency := fs.String("currency", "USD", "ISO 4217 currency of the shop's orders")
	tz := fs.String("timezone", "UTC", "IANA time zone that decides purchase days")
	shards := fs.Int("shards", shop.DefaultShards, "partitions for the shop's customer summaries (1-100)")
	secret := fs.String("webhook-secret", "", "Shopify's webhook signing secret (default: a generated one)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	sh, cred, err := newShop(*name, *currency, *tz, *shards, time.Now())
	if err != nil {
		return err
	}
	if *secret != "" {
		sh.WebhookSecret, cred.WebhookSecret = *secret, *secret
	}
	st, err := localenv.Store(ctx)
	if err != nil {
		return err
	}
	if err := st.CreateShop(ctx, sh, cred); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(newShopJSON{
		ShopID: sh.ID, APIKey: cred.APIKey, WebhookSecret: cred.WebhookSecret,
		Currency: sh.Currency, Timezone: sh.Timezone,
	})
}

// runSetWebhookSecret runs "winback shop set-webhook-secret --shop ID --secret S".
func runSetWebhookSecret(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shop set-webhook-secret", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shopID := fs.String("shop", "", "the shop's id (required)")
	secret := fs.String("secret", "", "the secret Shopify signs the shop's webhooks with (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *shopID == "" || *secret == "" {
		return fmt.Errorf("%s", shopUsage)
	}
	st, err := localenv.Store(ctx)
	if err != nil {
		return err
	}
	if err := st.SetWebhookSecret(ctx, *shopID, *secret); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"shop_id": *shopID, "webhook_secret": "updated"})
}

// newShop validates the settings and makes a shop with fresh credentials.
func newShop(name, currency, tz string, shards int, now time.Time) (shop.Shop, shop.Credentials, error) {
	if name == "" || len(name) > 200 {
		return shop.Shop{}, shop.Credentials{}, fmt.Errorf("--name is required (at most 200 characters)")
	}
	if _, ok := order.Exponent(currency); !ok {
		return shop.Shop{}, shop.Credentials{}, fmt.Errorf("--currency %q is not an ISO 4217 currency code", currency)
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
		return shop.Shop{}, shop.Credentials{}, fmt.Errorf("--timezone %q is not an IANA time zone", tz)
	}
	if shards < 1 || shards > 100 {
		return shop.Shop{}, shop.Credentials{}, fmt.Errorf("--shards must be between 1 and 100")
	}
	cred := shop.NewCredentials()
	sh := shop.Shop{
		ID: shop.NewID(), Name: name, Currency: currency, Timezone: tz, Shards: shards,
		WebhookSecret: cred.WebhookSecret, CreatedAt: now.UTC().Truncate(time.Second),
	}
	return sh, cred, nil
}
