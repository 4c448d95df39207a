package web_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/campaign"
)

// keyRotator is what the test asks of the stores besides the routes'.
type keyRotator interface {
	TokenKeys(ctx context.Context) (campaign.TokenKeys, error)
	RotateTokenKey(ctx context.Context) (campaign.TokenKeyInfo, error)
	RetireTokenKey(ctx context.Context, version int, force bool) error
}

// TestUnsubscribeLinksAcrossKeyRotation: a warm api function verifies the
// links of a key made after it read its keys (it reads them again at once)
// and keeps verifying the links of older keys; once a key is retired, a
// function that reads the keys refuses its links, and only its links.
func TestUnsubscribeLinksAcrossKeyRotation(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, b.open(t))
			st := f.st.(keyRotator)
			oldPath := "/v1/unsubscribe/" + f.token(t, f.one.ID, "c1", asOf)
			if rec := f.do(t, "GET", oldPath, "", ""); rec.Code != 200 {
				t.Fatalf("a link of key 1: %d", rec.Code)
			}

			if info, err := st.RotateTokenKey(ctx); err != nil || info.Version != 2 {
				t.Fatalf("rotate: %+v, %v", info, err)
			}
			keys, err := st.TokenKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := keys.Sign(campaign.Token{ShopID: f.one.ID, CustomerID: "c1", CampaignID: asOf, Issued: "2026-11-02"})
			if err != nil {
				t.Fatal(err)
			}
			newPath := "/v1/unsubscribe/" + tok
			if _, v, _ := keys.Verify(tok); v != 2 {
				t.Fatalf("signed with key %d, want 2", v)
			}
			// The warm handler read its keys before key 2 existed.
			if rec := f.do(t, "GET", newPath, "", ""); rec.Code != 200 {
				t.Fatalf("a link of the new key on a warm function: %d %s", rec.Code, rec.Body)
			}
			if rec := f.do(t, "GET", oldPath, "", ""); rec.Code != 200 {
				t.Fatalf("a link of the old key after the rotation: %d", rec.Code)
			}

			if err := st.RetireTokenKey(ctx, 1, true); err != nil {
				t.Fatal(err)
			}
			cold := api.Routes(api.All(f.st, slog.New(slog.NewJSONHandler(io.Discard, nil))))
			f.h = cold
			if rec := f.do(t, "GET", oldPath, "", ""); rec.Code != 400 {
				t.Fatalf("a link of the retired key: %d, want 400", rec.Code)
			}
			if rec := f.do(t, "GET", newPath, "", ""); rec.Code != 200 {
				t.Fatalf("a link of the kept key: %d", rec.Code)
			}
		})
	}
}
