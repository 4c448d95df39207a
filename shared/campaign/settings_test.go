package campaign

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultSettings(t *testing.T) {
	s := DefaultSettings()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if s.FrequencyCapDays != 30 || s.HoldoutShare != 0.10 || s.AttributionWindowDays != 14 ||
		s.CouponExpiryDays != 14 || s.ReplenishmentWindowDays != 7 || s.GrossMargin != 0.5 ||
		!reflect.DeepEqual(s.RiskBands, []string{"high"}) || s.ValueBasis != BasisPredicted {
		t.Errorf("defaults changed: %+v (update RULES.md too)", s)
	}
	pcts := []int{}
	for _, tier := range s.Tiers {
		pcts = append(pcts, tier.Percent)
	}
	if !reflect.DeepEqual(pcts, []int{0, 10, 15, 20}) {
		t.Errorf("default tiers %v", pcts)
	}
	if _, err := s.Sender(); !errors.Is(err, ErrNoSender) {
		t.Errorf("no sender: %v", err)
	}
}

func TestSettingsJSONSnakeCase(t *testing.T) {
	s := DefaultSettings()
	s.From = "Shop <news@shop.example>"
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"from"`, `"risk_bands"`, `"p_alive_below"`, `"value_floor"`, `"value_basis"`,
		`"frequency_cap_days"`, `"holdout_share"`, `"replenishment_window_days"`, `"offer_tiers"`,
		`"min_value"`, `"percent"`, `"uplift"`, `"gross_margin"`, `"coupon_expiry_days"`, `"attribution_window_days"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
	var back Settings
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, back, s)
	}
}

func TestSettingsValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Settings)
		field string // "" = valid
	}{
		{"defaults", func(*Settings) {}, ""},
		{"sender with name", func(s *Settings) { s.From = "Shop <news@shop.example>" }, ""},
		{"bare sender", func(s *Settings) { s.From = "news@shop.example" }, ""},
		{"sender not an address", func(s *Settings) { s.From = "Shop news" }, "from"},
		{"sender without dot", func(s *Settings) { s.From = "news@localhost" }, "from"},
		{"sender with header injection", func(s *Settings) { s.From = "a@b.example\r\nBcc: x@y.example" }, "from"},
		{"unknown band", func(s *Settings) { s.RiskBands = []string{"severe"} }, "risk_bands"},
		{"bands off, p alive on", func(s *Settings) { s.RiskBands = nil; s.PAliveBelow = 0.2 }, ""},
		{"nobody selectable", func(s *Settings) { s.RiskBands = nil; s.ReplenishmentWindowDays = 0 }, "risk_bands"},
		{"p alive > 1", func(s *Settings) { s.PAliveBelow = 1.5 }, "p_alive_below"},
		{"negative floor", func(s *Settings) { s.ValueFloor = -1 }, "value_floor"},
		{"unknown basis", func(s *Settings) { s.ValueBasis = "" }, "value_basis"},
		{"negative cap", func(s *Settings) { s.FrequencyCapDays = -1 }, "frequency_cap_days"},
		{"cap 0 allowed", func(s *Settings) { s.FrequencyCapDays = 0 }, ""},
		{"holdout 1", func(s *Settings) { s.HoldoutShare = 1 }, "holdout_share"},
		{"holdout 0 allowed", func(s *Settings) { s.HoldoutShare = 0 }, ""},
		{"no tiers", func(s *Settings) { s.Tiers = nil }, "offer_tiers"},
		{"first tier not at 0", func(s *Settings) { s.Tiers[0].MinValue = 10 }, "offer_tiers"},
		{"tiers not ascending", func(s *Settings) { s.Tiers[2].MinValue = s.Tiers[1].MinValue }, "offer_tiers[2]"},
		{"percent above 90", func(s *Settings) { s.Tiers[3].Percent = 95 }, "offer_tiers[3]"},
		{"percent decreasing", func(s *Settings) { s.Tiers[3].Percent = 5 }, "offer_tiers[3]"},
		{"discount without uplift", func(s *Settings) { s.Tiers[1].Uplift = 0 }, "offer_tiers[1]"},
		{"margin 0", func(s *Settings) { s.GrossMargin = 0 }, "gross_margin"},
		{"expiry 0", func(s *Settings) { s.CouponExpiryDays = 0 }, "coupon_expiry_days"},
		{"window 0", func(s *Settings) { s.AttributionWindowDays = 0 }, "attribution_window_days"},
		{"window 366", func(s *Settings) { s.AttributionWindowDays = 366 }, "attribution_window_days"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := DefaultSettings()
			c.edit(&s)
			err := s.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v; want a ValidationError", err)
			}
			for _, f := range ve.Fields {
				if f.Field == c.field {
					return
				}
			}
			t.Errorf("no error on %s: %v", c.field, err)
		})
	}
}

func TestSender(t *testing.T) {
	s := DefaultSettings()
	s.From = "Shop <news@shop.example>"
	a, err := s.Sender()
	if err != nil || a.Name != "Shop" || a.Address != "news@shop.example" {
		t.Errorf("Sender = %v, %v", a, err)
	}
	s.From = "not an address"
	if _, err := s.Sender(); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad sender: %v", err)
	}
}
