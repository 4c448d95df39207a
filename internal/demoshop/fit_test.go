package demoshop

import (
	"testing"
	"time"

	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/order"
)

// finalVersions returns the last version of every order of the events
// that is not malformed, by order id.
func finalVersions(events []Event) map[string]Order {
	last := make(map[string]Order)
	for _, e := range events {
		if e.Kind == KindMalformed {
			continue
		}
		last[e.Order.ID] = e.Order
	}
	return last
}

// transactions is the purchase log the API would hold after the events:
// each paid order's net value on its day in the shop's time zone.
func transactions(h *History, events []Event) []clv.Transaction {
	exp, _ := order.Exponent(h.Config.Currency)
	scale := 1.0
	for range exp {
		scale *= 10
	}
	var txs []clv.Transaction
	for _, o := range finalVersions(events) {
		if o.Status != order.StatusPaid {
			continue
		}
		y, m, d := o.CreatedAt.In(h.Config.Location).Date()
		txs = append(txs, clv.Transaction{
			CustomerID: o.Customer.ID,
			Date:       time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
			Amount:     float64(o.Total-o.Refunded) / scale,
		})
	}
	return txs
}

// fitBGNBD fits BG/NBD (weeks) to the history as the API would see it.
func fitBGNBD(t *testing.T, h *History) (clv.BGNBD, clv.FitResult, []clv.Summary) {
	t.Helper()
	y, m, d := h.End.Date()
	s, err := clv.Summarize(transactions(h, h.Events), clv.Period{ObservationEnd: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Unit: clv.Week})
	if err != nil {
		t.Fatal(err)
	}
	model, res := clv.FitBGNBD(clv.Group(clv.Customers(s)), clv.FitOptions{})
	return model, res, s
}

// TestBGNBDFit fits clv's BG/NBD to the orders as the API would count them
// (paid orders, one purchase occasion per day) and finds the generating
// parameters again, loosely: the generator is BTYD-like. The fitted model
// also tells the truly alive from the gone, and Gamma-Gamma finds the mean
// spend.
func TestBGNBDFit(t *testing.T) {
	p := DefaultParams()
	for seed := int64(1); seed <= 2; seed++ {
		h := defaultShop(t, seed)
		m, res, s := fitBGNBD(t, h)
		if !res.Converged {
			t.Fatalf("seed %d: BG/NBD fit failed: %s", seed, res.Status)
		}
		t.Logf("seed %d: fitted r=%.3f α=%.2f a=%.3f b=%.3f (generated r=%.2f α=%.1f a=%.2f b=%.2f)", seed, m.R, m.Alpha, m.A, m.B, p.R, p.Alpha, p.A, p.B)
		ratio := func(name string, got, want, tol float64) {
			if got < want/tol || got > want*tol {
				t.Errorf("seed %d: %s %.3f, want %.3f within a factor %.2f", seed, name, got, want, tol)
			}
		}
		ratio("r", m.R, p.R, 1.6)
		ratio("α", m.Alpha, p.Alpha, 1.6)
		ratio("a", m.A, p.A, 1.6)
		ratio("b", m.B, p.B, 1.6)
		ratio("mean λ (r/α)", m.R/m.Alpha, p.R/p.Alpha, 1.3)
		ratio("mean p (a/(a+b))", m.A/(m.A+m.B), p.A/(p.A+p.B), 1.3)

		// P(alive) ranks the truly alive above the gone.
		var alive, gone, nAlive, nGone float64
		for _, c := range s {
			cust, _ := h.Customer(c.ID)
			if cust.Truth.Segment == SegmentNew {
				continue
			}
			pa := m.PAlive(c.X, c.Tx, c.T)
			if cust.Truth.Alive {
				alive, nAlive = alive+pa, nAlive+1
			} else {
				gone, nGone = gone+pa, nGone+1
			}
		}
		t.Logf("seed %d: mean P(alive) %.3f of the alive, %.3f of the gone", seed, alive/nAlive, gone/nGone)
		if alive/nAlive < gone/nGone+0.15 {
			t.Errorf("seed %d: mean P(alive) %.3f of the alive, %.3f of the gone", seed, alive/nAlive, gone/nGone)
		}

		gg, ggRes := clv.FitGammaGamma(clv.Customers(s), clv.FitOptions{})
		if !ggRes.Converged {
			t.Fatalf("seed %d: Gamma-Gamma fit failed: %s", seed, ggRes.Status)
		}
		ratio("mean order value", gg.PopulationMean(), p.MeanOrderValue(), 1.15)
	}
}
