package stages

import (
	"encoding/json"
	"fmt"

	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/scoring"
)

// Stored is a customer's scores as the store keeps them.
func Stored(c scoring.CustomerScore) scores.Score {
	return scores.Score{
		CustomerID: c.CustomerID, AsOf: c.AsOf, Model: c.Model,
		PAlive: c.PAlive, ChurnRisk: c.ChurnRisk, ChurnBand: string(c.ChurnBand), Active: c.Active,
		ExpectedPurchases30d: c.ExpectedPurchases30d, ExpectedPurchases90d: c.ExpectedPurchases90d,
		ExpectedPurchases365d: c.ExpectedPurchases365d, ExpectedOrderValue: c.ExpectedOrderValue,
		CLV: c.CLV, NextOrderDate: c.NextOrderDate,
		Recency: c.Recency, Frequency: c.Frequency, Monetary: c.Monetary,
		Segment: string(c.Segment), SpendTier: string(c.SpendTier),
	}
}

// CustomerScore is a stored score as the scoring domain's type.
func CustomerScore(s scores.Score) scoring.CustomerScore {
	return scoring.CustomerScore{
		CustomerID: s.CustomerID, AsOf: s.AsOf, Model: s.Model,
		PAlive: s.PAlive, ChurnRisk: s.ChurnRisk, ChurnBand: scoring.Band(s.ChurnBand), Active: s.Active,
		ExpectedPurchases30d: s.ExpectedPurchases30d, ExpectedPurchases90d: s.ExpectedPurchases90d,
		ExpectedPurchases365d: s.ExpectedPurchases365d, ExpectedOrderValue: s.ExpectedOrderValue,
		CLV: s.CLV, NextOrderDate: s.NextOrderDate,
		Recency: s.Recency, Frequency: s.Frequency, Monetary: s.Monetary,
		Segment: scoring.Segment(s.Segment), SpendTier: scoring.Tier(s.SpendTier),
	}
}

// StoredDay is a shop's KPIs as the store keeps them.
func StoredDay(d scoring.Day) (scores.Day, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return scores.Day{}, fmt.Errorf("encode day %s: %w", d.AsOf, err)
	}
	return scores.Day{AsOf: d.AsOf, Data: data}, nil
}

// DayOf decodes stored KPIs.
func DayOf(d scores.Day) (scoring.Day, error) {
	var out scoring.Day
	if err := json.Unmarshal(d.Data, &out); err != nil {
		return scoring.Day{}, fmt.Errorf("decode day %s: %w", d.AsOf, err)
	}
	return out, nil
}
