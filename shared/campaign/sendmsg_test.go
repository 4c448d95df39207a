package campaign

import (
	"errors"
	"strings"
	"testing"
)

func TestSendMessageRoundTrip(t *testing.T) {
	m := SendMessage{ShopID: "shop_k3j5x7q2m9ab", CampaignID: "2026-12-01", SendID: SendID("2026-12-01", "cust-42")}
	body := m.Body()
	if body != `{"shop_id":"shop_k3j5x7q2m9ab","campaign_id":"2026-12-01","send_id":"`+m.SendID+`"}` {
		t.Errorf("body %s", body)
	}
	got, err := ParseSendMessage(body)
	if err != nil || got != m {
		t.Errorf("ParseSendMessage = %+v, %v; want %+v", got, err, m)
	}
	// Whitespace around the object is fine.
	if got, err := ParseSendMessage(" \n" + body + "\n"); err != nil || got != m {
		t.Errorf("with whitespace: %+v, %v", got, err)
	}
}

func TestParseSendMessageRejects(t *testing.T) {
	id := SendID("2026-12-01", "cust-42")
	cases := []struct{ name, body, detail string }{
		{"empty", "", "EOF"},
		{"not JSON", "shop_1 2026-12-01", "invalid character"},
		{"truncated", `{"shop_id":"s","campaign_id":`, "EOF"},
		{"array", `[]`, "cannot unmarshal"},
		{"unknown field", `{"shop_id":"s","campaign_id":"c","send_id":"` + id + `","email":"x"}`, "unknown field"},
		{"two objects", `{"shop_id":"s","campaign_id":"c","send_id":"` + id + `"}{}`, "after the JSON object"},
		{"no shop", `{"campaign_id":"c","send_id":"` + id + `"}`, "no shop_id"},
		{"no campaign", `{"shop_id":"s","campaign_id":"","send_id":"` + id + `"}`, "no campaign_id"},
		{"no send id", `{"shop_id":"s","campaign_id":"c"}`, "send_id"},
		{"short send id", `{"shop_id":"s","campaign_id":"c","send_id":"abc"}`, "send_id"},
		{"upper-case send id", `{"shop_id":"s","campaign_id":"c","send_id":"` + strings.ToUpper(id) + `"}`, "send_id"},
		{"number", `{"shop_id":1,"campaign_id":"c","send_id":"` + id + `"}`, "cannot unmarshal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSendMessage(c.body)
			if !errors.Is(err, ErrBadSendMessage) || !strings.Contains(err.Error(), c.detail) {
				t.Errorf("err = %v; want ErrBadSendMessage mentioning %q", err, c.detail)
			}
		})
	}
}
