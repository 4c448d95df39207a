package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// tableCreateCommand is "winback table create".
func tableCreateCommand(*flag.FlagSet) action {
	return func(ctx context.Context, stdout io.Writer) error {
		if err := localenv.CreateTable(ctx); err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(map[string]string{"table": localenv.Table()})
	}
}

// newShopJSON is what "winback shop create" prints.
type newShopJSON struct {
	ShopID        string `json:"shop_id"`
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
	Currency      string `json:"currency"`
	Timezone      string `json:"timezone"`
}

const shopifyDomainHelp = "the shop's NAME.myshopify.com domain, which Shopify sends in X-Shopify-Shop-Domain; webhooks are refused until it is set"

// shopCreateCommand is "winback shop create".
func shopCreateCommand(fs *flag.FlagSet) action {
	name := fs.String("name", "", "the shop's name (required)")
	currency := fs.String("currency", "USD", "ISO 4217 currency of the shop's orders")
	tz := fs.String("timezone", "UTC", "IANA time zone that decides purchase days")
	shards := fs.Int("shards", shop.DefaultShards, "partitions for the shop's customer summaries (1-100)")
	secret := fs.String("webhook-secret", "", "Shopify's webhook signing secret (default: a generated one)")
	domain := fs.String("shopify-domain", "", shopifyDomainHelp)
	return func(ctx context.Context, stdout io.Writer) error {
		if *name == "" {
			return usageErrorf("--name is required")
		}
		sh, cred, err := newShop(*name, *currency, *tz, *shards, time.Now())
		if err != nil {
			return err
		}
		if *secret != "" {
			sh.WebhookSecret, cred.WebhookSecret = *secret, *secret
		}
		if sh.ShopifyDomain, err = shopifyDomain(*domain); err != nil {
			return err
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
}

// setWebhookSecretCommand is "winback shop set-webhook-secret".
func setWebhookSecretCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	secret := fs.String("secret", "", "the secret Shopify signs the shop's webhooks with (required)")
	domain := fs.String("shopify-domain", "", shopifyDomainHelp+" (default: keep the one stored)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" || *secret == "" {
			return usageErrorf("--shop and --secret are required")
		}
		d, err := shopifyDomain(*domain)
		if err != nil {
			return err
		}
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		if err := st.SetWebhookSecret(ctx, *shopID, *secret, d); err != nil {
			return err
		}
		return writeJSON(stdout, webhookSecretJSON{
			ShopID: *shopID, WebhookSecret: "updated", SealedWith: localenv.Sealing(),
			OldAcceptedUntil: until(time.Now(), httpapi.KeyTTL), Note: webhookSecretNote(),
		})
	}
}

// webhookSecretJSON is what "winback shop set-webhook-secret" and
// "winback shop rotate-webhook-secret" print.
type webhookSecretJSON struct {
	ShopID string `json:"shop_id"`
	// WebhookSecret is the new secret when rotate generated it (printed
	// once), else "updated".
	WebhookSecret string `json:"webhook_secret"`
	SealedWith    string `json:"sealed_with"`
	// OldAcceptedUntil is the latest time a warm ingest function may still
	// accept the old secret: now + httpapi.KeyTTL.
	OldAcceptedUntil string `json:"old_secret_accepted_until"`
	Note             string `json:"note"`
}

// webhookSecretNote is the window of a changed webhook secret.
func webhookSecretNote() string {
	ttl := ttlText(httpapi.KeyTTL)
	return fmt.Sprintf("the new secret is stored sealed and verifies webhooks now; ingest functions that read the shop "+
		"in the last %s keep accepting the old secret, and refusing the new one, until their cache of the shop expires, "+
		"at most %s from now (old_secret_accepted_until); Shopify retries a refused delivery", ttl, ttl)
}

// rotateWebhookSecretHelp is the -h text of "winback shop rotate-webhook-secret".
const rotateWebhookSecretHelp = `Shopify chooses the secret it signs webhooks with (an app's client secret, or
the signing key the shop admin shows for webhooks made there): rotate it in
Shopify first, then pass the new one with --secret. Without --secret a random
secret is generated and printed once: the old one stops verifying (use this
to shut out a leaked secret until Shopify's side is rotated).
`

// rotateWebhookSecretCommand is "winback shop rotate-webhook-secret".
func rotateWebhookSecretCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	secret := fs.String("secret", "", "the new secret (default: a generated one, printed once)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" {
			return usageErrorf("--shop is required")
		}
		fresh := *secret
		if fresh == "" {
			fresh = shop.NewCredentials().WebhookSecret
		}
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		if err := st.SetWebhookSecret(ctx, *shopID, fresh, ""); err != nil {
			return err
		}
		out := webhookSecretJSON{
			ShopID: *shopID, WebhookSecret: "updated", SealedWith: localenv.Sealing(),
			OldAcceptedUntil: until(time.Now(), httpapi.KeyTTL), Note: webhookSecretNote(),
		}
		if *secret == "" {
			out.WebhookSecret = fresh
		}
		return writeJSON(stdout, out)
	}
}

// shopifyDomain checks a --shopify-domain value and returns it in lower
// case ("" stays "").
func shopifyDomain(d string) (string, error) {
	if d == "" {
		return "", nil
	}
	d = strings.ToLower(strings.TrimSpace(d))
	name, ok := strings.CutSuffix(d, ".myshopify.com")
	valid := ok && name != "" && len(name) <= 63 && name[0] != '-' && name[len(name)-1] != '-'
	for _, r := range name {
		valid = valid && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	}
	if !valid {
		return "", fmt.Errorf("--shopify-domain %q is not a NAME.myshopify.com domain", d)
	}
	return d, nil
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
