package campaign

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
)

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone(name, 3600)
	}
	return loc
}

// now is 2025-03-10 09:00 in Berlin; the scores are as of 2025-03-09.
var now = time.Date(2025, 3, 10, 9, 0, 0, 0, berlin)

// atRisk is a candidate Select mails a win-back e-mail with defaults.
func atRisk() Candidate {
	return Candidate{
		Score: scores.Score{
			CustomerID: "c1", AsOf: "2025-03-09", PAlive: 0.2, ChurnRisk: 0.8, ChurnBand: "high",
			ExpectedPurchases30d: 0.1, ExpectedPurchases90d: 0.28, ExpectedPurchases365d: 0.9,
			ExpectedOrderValue: 6000, CLV: 20000, NextOrderDate: "2025-06-01",
		},
		AcceptsMarketing: true,
		HasEmail:         true,
		LastOrderDay:     "2024-10-02",
		HistoricValue:    12000,
		FirstName:        "Ada",
		LastItems:        []order.LineItem{{Title: "Coffee beans 1 kg", Quantity: 2, Price: 2400}},
	}
}

// due is a candidate whose expected next order is tomorrow.
func due() Candidate {
	c := atRisk()
	c.Score.PAlive, c.Score.ChurnRisk, c.Score.ChurnBand = 0.9, 0.1, "low"
	c.Score.NextOrderDate = "2025-03-11"
	return c
}

func TestSelect(t *testing.T) {
	s := DefaultSettings()
	cases := []struct {
		name   string
		in     func() Candidate
		edit   func(*Settings)
		now    time.Time
		kind   Kind
		reason Reason
	}{
		{"at risk", atRisk, nil, now, KindWinback, ""},
		{"no consent", func() Candidate { c := atRisk(); c.AcceptsMarketing = false; return c }, nil, now, "", ReasonNoConsent},
		{"no consent beats no e-mail", func() Candidate { c := atRisk(); c.AcceptsMarketing = false; c.HasEmail = false; return c }, nil, now, "", ReasonNoConsent},
		{"no e-mail", func() Candidate { c := atRisk(); c.HasEmail = false; return c }, nil, now, "", ReasonNoEmail},
		{"suppressed", func() Candidate { c := atRisk(); c.Suppressed = "complaint"; return c }, nil, now, "", ReasonSuppressed},
		{"not scored", func() Candidate { c := atRisk(); c.Score = scores.Score{}; return c }, nil, now, "", ReasonNotScored},
		{"bad as-of", func() Candidate { c := atRisk(); c.Score.AsOf = "09/03/2025"; return c }, nil, now, "", ReasonInvalidInput},
		{"bad last order day", func() Candidate { c := atRisk(); c.LastOrderDay = "yesterday"; return c }, nil, now, "", ReasonInvalidInput},
		{"bad next order day", func() Candidate { c := atRisk(); c.Score.NextOrderDate = "soon"; return c }, nil, now, "", ReasonInvalidInput},
		{"ordered after scoring", func() Candidate { c := atRisk(); c.LastOrderDay = "2025-03-10"; return c }, nil, now, "", ReasonOrderedSinceScored},
		{"ordered on the scored day", func() Candidate { c := atRisk(); c.LastOrderDay = "2025-03-09"; return c }, nil, now, KindWinback, ""},
		{"never ordered", func() Candidate { c := atRisk(); c.LastOrderDay = ""; return c }, nil, now, KindWinback, ""},
		{"mailed 29 days ago", func() Candidate { c := atRisk(); c.LastContactedAt = now.Add(-29 * 24 * time.Hour); return c }, nil, now, "", ReasonFrequencyCap},
		{"mailed 30 days less a second ago", func() Candidate {
			c := atRisk()
			c.LastContactedAt = now.Add(-30*24*time.Hour + time.Second)
			return c
		}, nil, now, "", ReasonFrequencyCap},
		{"mailed exactly 30 days ago", func() Candidate { c := atRisk(); c.LastContactedAt = now.Add(-30 * 24 * time.Hour); return c }, nil, now, KindWinback, ""},
		{"contact in the future", func() Candidate { c := atRisk(); c.LastContactedAt = now.Add(time.Hour); return c }, nil, now, "", ReasonFrequencyCap},
		{"cap off", func() Candidate { c := atRisk(); c.LastContactedAt = now.Add(-time.Hour); return c }, func(s *Settings) { s.FrequencyCapDays = 0 }, now, KindWinback, ""},
		{"medium band", func() Candidate { c := atRisk(); c.Score.ChurnBand = "medium"; return c }, nil, now, "", ReasonNotAtRisk},
		{"medium band, configured", func() Candidate { c := atRisk(); c.Score.ChurnBand = "medium"; return c }, func(s *Settings) { s.RiskBands = []string{"medium", "high"} }, now, KindWinback, ""},
		{"p alive below threshold", func() Candidate { c := atRisk(); c.Score.ChurnBand = "medium"; c.Score.PAlive = 0.39; return c }, func(s *Settings) { s.PAliveBelow = 0.4 }, now, KindWinback, ""},
		{"p alive at threshold", func() Candidate { c := atRisk(); c.Score.ChurnBand = "medium"; c.Score.PAlive = 0.4; return c }, func(s *Settings) { s.PAliveBelow = 0.4 }, now, "", ReasonNotAtRisk},
		{"below predicted floor", atRisk, func(s *Settings) { s.ValueFloor = 20001 }, now, "", ReasonBelowValueFloor},
		{"at predicted floor", atRisk, func(s *Settings) { s.ValueFloor = 20000 }, now, KindWinback, ""},
		{"historic floor", atRisk, func(s *Settings) { s.ValueFloor = 15000; s.ValueBasis = BasisHistoric }, now, "", ReasonBelowValueFloor},
		{"either floor, predicted passes", atRisk, func(s *Settings) { s.ValueFloor = 15000; s.ValueBasis = BasisEither }, now, KindWinback, ""},
		{"either floor, historic passes", func() Candidate { c := atRisk(); c.HistoricValue = 30000; return c }, func(s *Settings) { s.ValueFloor = 25000; s.ValueBasis = BasisEither }, now, KindWinback, ""},
		{"NaN CLV fails a predicted floor of 0", func() Candidate { c := atRisk(); c.Score.CLV = nan(); return c }, nil, now, "", ReasonBelowValueFloor},
		{"not at risk beats the floor", func() Candidate { c := atRisk(); c.Score.ChurnBand = "low"; return c }, func(s *Settings) { s.ValueFloor = 1 << 40 }, now, "", ReasonNotAtRisk},
		{"replenishment due tomorrow", due, nil, now, KindReplenishment, ""},
		{"replenishment due 7 days ago", func() Candidate { c := due(); c.Score.NextOrderDate = "2025-03-03"; return c }, nil, now, KindReplenishment, ""},
		{"replenishment due in 7 days", func() Candidate { c := due(); c.Score.NextOrderDate = "2025-03-17"; return c }, nil, now, KindReplenishment, ""},
		{"replenishment due in 8 days", func() Candidate { c := due(); c.Score.NextOrderDate = "2025-03-18"; return c }, nil, now, "", ReasonNotAtRisk},
		{"replenishment 8 days late", func() Candidate { c := due(); c.Score.NextOrderDate = "2025-03-02"; return c }, nil, now, "", ReasonNotAtRisk},
		{"replenishment beats win-back", func() Candidate { c := due(); c.Score.ChurnBand = "high"; return c }, nil, now, KindReplenishment, ""},
		{"replenishment needs items", func() Candidate { c := due(); c.LastItems = nil; return c }, nil, now, "", ReasonNotAtRisk},
		{"replenishment off", due, func(s *Settings) { s.ReplenishmentWindowDays = 0 }, now, "", ReasonNotAtRisk},
		{"replenishment below floor", due, func(s *Settings) { s.ValueFloor = 1 << 40 }, now, "", ReasonBelowValueFloor},
		{"replenishment ordered since", func() Candidate { c := due(); c.LastOrderDay = "2025-03-10"; return c }, nil, now, "", ReasonOrderedSinceScored},
		// Today is the shop's day: 23:30 UTC on the 9th is already the 10th in Berlin.
		{"today in the shop's zone", func() Candidate { c := due(); c.Score.NextOrderDate = "2025-03-17"; return c }, nil,
			time.Date(2025, 3, 9, 23, 30, 0, 0, time.UTC).In(berlin), KindReplenishment, ""},
		{"today in UTC is a day earlier", func() Candidate { c := due(); c.Score.NextOrderDate = "2025-03-17"; return c }, nil,
			time.Date(2025, 3, 9, 23, 30, 0, 0, time.UTC), "", ReasonNotAtRisk},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := s
			s.RiskBands = slices.Clone(s.RiskBands)
			if c.edit != nil {
				c.edit(&s)
			}
			got := Select(c.in(), s, c.now)
			if got.Kind != c.kind || got.Reason != c.reason {
				t.Errorf("Select = %+v; want kind %q reason %q", got, c.kind, c.reason)
			}
			if got.Selected() != (c.kind != "") || (got.Kind == "") == (got.Reason == "") {
				t.Errorf("a decision has exactly one of kind and reason: %+v", got)
			}
			if got.Kind != KindWinback && got.Offer != (OfferDecision{}) {
				t.Errorf("an offer without a win-back: %+v", got)
			}
		})
	}
}

func TestSelectCarriesOffer(t *testing.T) {
	s := DefaultSettings()
	c := atRisk()
	if got := Select(c, s, now); got.Offer != Offer(c.Score, s) || got.Offer.Percent != 15 {
		t.Errorf("offer %+v; want Offer's 15%%", got.Offer)
	}
}

// Every combination of the inputs that matter: the decision is
// deterministic, is a kind or a reason, and the reasons keep their order
// (a customer failing an earlier check never gets a later reason).
func TestSelectExhaustive(t *testing.T) {
	s := DefaultSettings()
	s.ValueFloor = 10000
	s.ValueBasis = BasisEither
	counts := map[string]int{}
	bools := []bool{false, true}
	for _, consent := range bools {
		for _, email := range bools {
			for _, suppressed := range []string{"", "bounce"} {
				for _, asOf := range []string{"", "2025-03-09", "bad"} {
					for _, last := range []string{"", "2025-03-01", "2025-03-10"} {
						for _, contacted := range []time.Duration{0, 10 * 24 * time.Hour, 40 * 24 * time.Hour} {
							for _, band := range []string{"low", "medium", "high"} {
								for _, next := range []string{"", "2025-03-12", "2025-05-01"} {
									for _, items := range bools {
										for _, clv := range []float64{0, 50000} {
											c := atRisk()
											c.AcceptsMarketing, c.HasEmail, c.Suppressed = consent, email, suppressed
											c.Score.AsOf, c.LastOrderDay, c.Score.ChurnBand, c.Score.NextOrderDate = asOf, last, band, next
											c.Score.CLV, c.HistoricValue = clv, 0
											if contacted > 0 {
												c.LastContactedAt = now.Add(-contacted)
											}
											if !items {
												c.LastItems = nil
											}
											d := Select(c, s, now)
											if d2 := Select(c, s, now); d2 != d {
												t.Fatalf("not deterministic: %+v then %+v", d, d2)
											}
											want := expectDecision(consent, email, suppressed, asOf, last, contacted, band, next, items, clv)
											if d.Kind != want.Kind || d.Reason != want.Reason {
												t.Fatalf("%v %v %q %q %q %v %q %q %v %v: got %+v, want %+v",
													consent, email, suppressed, asOf, last, contacted, band, next, items, clv, d, want)
											}
											counts[string(d.Kind)+string(d.Reason)]++
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	for _, k := range []string{"winback", "replenishment"} {
		if counts[k] == 0 {
			t.Errorf("no %s decision in the grid", k)
		}
	}
	for _, r := range Reasons {
		if counts[string(r)] == 0 {
			t.Errorf("no %s decision in the grid", r)
		}
	}
	t.Logf("%v", counts)
}

// expectDecision restates Select's rule for the exhaustive grid.
func expectDecision(consent, email bool, suppressed, asOf, last string, contacted time.Duration, band, next string, items bool, clv float64) Decision {
	switch {
	case !consent:
		return skip(ReasonNoConsent)
	case !email:
		return skip(ReasonNoEmail)
	case suppressed != "":
		return skip(ReasonSuppressed)
	case asOf == "":
		return skip(ReasonNotScored)
	case asOf == "bad":
		return skip(ReasonInvalidInput)
	case last > asOf:
		return skip(ReasonOrderedSinceScored)
	case contacted > 0 && contacted < 30*24*time.Hour:
		return skip(ReasonFrequencyCap)
	}
	var kind Kind
	switch {
	case next == "2025-03-12" && items:
		kind = KindReplenishment
	case band == "high":
		kind = KindWinback
	default:
		return skip(ReasonNotAtRisk)
	}
	if clv < 10000 {
		return skip(ReasonBelowValueFloor)
	}
	return Decision{Kind: kind}
}

func TestCandidateOf(t *testing.T) {
	sum := customer.Summary{
		CustomerID: "c1", Email: "ada@example.com", FirstName: "Ada", AcceptsMarketing: true,
		LastDay: "2025-01-05", TotalSpend: 4200,
		LastItems: []order.LineItem{{Title: "Tea", Quantity: 1, Price: 900}},
	}
	sc := scores.Score{CustomerID: "c1", AsOf: "2025-03-09"}
	at := now.Add(-48 * time.Hour)
	c := CandidateOf(sum, sc, "unsubscribe", at)
	if !c.AcceptsMarketing || !c.HasEmail || c.Suppressed != "unsubscribe" || !c.LastContactedAt.Equal(at) ||
		c.LastOrderDay != "2025-01-05" || c.HistoricValue != 4200 || c.FirstName != "Ada" || len(c.LastItems) != 1 || c.Score != sc {
		t.Errorf("CandidateOf = %+v", c)
	}
	if CandidateOf(customer.Summary{}, sc, "", time.Time{}).HasEmail {
		t.Error("no e-mail counts as an e-mail")
	}
}

func ExampleSelect() {
	c := atRisk()
	d := Select(c, DefaultSettings(), now)
	fmt.Println(d.Kind, d.Offer.Percent)
	c.LastContactedAt = now.Add(-7 * 24 * time.Hour)
	fmt.Println(Select(c, DefaultSettings(), now).Reason)
	// Output:
	// winback 15
	// frequency_cap
}

// TestReplenishmentByCycle: a repeat customer is due by their own cycle
// (last purchase day + mean gap), which beats the models' next order
// date; a one-time buyer falls back on the models' date.
func TestReplenishmentByCycle(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	base := func() Candidate {
		return Candidate{
			Score: scores.Score{
				CustomerID: "c1", AsOf: "2025-03-09", ChurnBand: "low", PAlive: 0.9,
				ExpectedOrderValue: 3000, CLV: 9000, NextOrderDate: "2025-05-01",
			},
			AcceptsMarketing: true, HasEmail: true, LastOrderDay: "2025-01-27",
			LastItems: []order.LineItem{{Title: "Earl Grey 100 g", Quantity: 1, Price: 900}},
		}
	}
	// Four purchase days six weeks apart, the last on 27 January: due on
	// 10 March (42 days later).
	sum := customer.Summary{FirstDay: "2024-09-23", LastDay: "2025-01-27", PurchaseDays: 4}
	if got := CandidateOf(sum, scores.Score{}, "", time.Time{}).CycleDueDay; got != "2025-03-10" {
		t.Fatalf("CycleDueDay = %q, want 2025-03-10", got)
	}
	if got := CandidateOf(customer.Summary{FirstDay: "2025-01-27", LastDay: "2025-01-27", PurchaseDays: 1}, scores.Score{}, "", time.Time{}).CycleDueDay; got != "" {
		t.Errorf("a single purchase day has a cycle: %q", got)
	}
	s := DefaultSettings()
	c := base()
	c.CycleDueDay = "2025-03-10"
	if d := Select(c, s, now); d.Kind != KindReplenishment {
		t.Errorf("due by the cycle today: %+v, want replenishment", d)
	}
	c.CycleDueDay = "2025-04-20"
	if d := Select(c, s, now); d.Kind != "" || d.Reason != ReasonNotAtRisk {
		t.Errorf("due in six weeks by the cycle (the models' date is ignored): %+v", d)
	}
	c = base()
	c.Score.NextOrderDate = "2025-03-12"
	if d := Select(c, s, now); d.Kind != KindReplenishment {
		t.Errorf("a one-time buyer due by the models' date: %+v, want replenishment", d)
	}
	c.CycleDueDay = "2025-13-01"
	if d := Select(c, s, now); d.Reason != ReasonInvalidInput {
		t.Errorf("a bad cycle day: %+v, want invalid_input", d)
	}
}
