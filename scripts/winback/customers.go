package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/report"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// exportColumns are the CSV columns of customers export, in order: the
// JSON field names of the API's scores.
var exportColumns = []string{
	"customer_id", "as_of", "model", "p_alive", "churn_risk", "churn_band",
	"expected_purchases_30d", "expected_purchases_90d", "expected_purchases_365d",
	"expected_order_value", "clv", "next_order_date", "r_score", "f_score", "m_score", "segment", "spend_tier",
}

// ScoreLister lists a shop's scored customers page by page (store.Store, memstore).
type ScoreLister interface {
	Shop(ctx context.Context, id string) (shop.Shop, error)
	Scores(ctx context.Context, sh shop.Shop, f scores.Filter, after *scores.Pos, limit int) ([]scores.Score, *scores.Pos, error)
}

func customersExportCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop whose scored customers to export (required)")
	segment := fs.String("segment", "", "only this segment (e.g. at_risk)")
	band := fs.String("band", "", "only this churn-risk band (low, medium, high)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" {
			return usageErrorf("--shop is required")
		}
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		n, err := exportCustomers(ctx, st, *shopID, scores.Filter{Segment: *segment, Band: *band}, stdout)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("shop %s has no scored customers: run `winback nightly --shop %s` first", *shopID, *shopID)
		}
		return nil
	}
}

// exportCustomers writes every scored customer of the shop as CSV (a header
// row, then one row per customer, ids exactly as ingested, money in the
// shop's currency units) and returns how many rows it wrote.
func exportCustomers(ctx context.Context, st ScoreLister, shopID string, f scores.Filter, w io.Writer) (int, error) {
	sh, err := st.Shop(ctx, shopID)
	if err != nil {
		return 0, err
	}
	out := csv.NewWriter(w)
	if err := out.Write(exportColumns); err != nil {
		return 0, err
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	rows := 0
	var after *scores.Pos
	for {
		page, next, err := st.Scores(ctx, sh, f, after, report.MaxLimit)
		if err != nil {
			return rows, err
		}
		for _, s := range page {
			v := report.View(s, sh.Currency)
			err := out.Write([]string{
				v.CustomerID, v.AsOf, v.Model, num(s.PAlive), num(s.ChurnRisk), v.ChurnBand,
				num(s.ExpectedPurchases30d), num(s.ExpectedPurchases90d), num(s.ExpectedPurchases365d),
				string(v.ExpectedOrderValue), string(v.CLV), v.NextOrderDate,
				strconv.Itoa(v.RScore), strconv.Itoa(v.FScore), strconv.Itoa(v.MScore), v.Segment, v.SpendTier,
			})
			if err != nil {
				return rows, err
			}
			rows++
		}
		if next == nil {
			break
		}
		after = next
	}
	out.Flush()
	return rows, out.Error()
}
