package scoring

import (
	"math"
	"testing"
	"time"

	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/customer"
)

func TestBTYD(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	sum := customer.Summary{
		CustomerID: "c1", FirstDay: "2024-01-01", LastDay: "2024-01-15",
		PurchaseDays: 3, PaidOrders: 4, RepeatSpend: 5000,
	}
	tests := []struct {
		name     string
		s        customer.Summary
		asOf     time.Time
		loc      *time.Location
		unitDays float64
		want     clv.Customer
		ok       bool
	}{
		{
			name: "weeks", s: sum, asOf: time.Date(2024, 1, 29, 12, 0, 0, 0, time.UTC), loc: time.UTC, unitDays: 7,
			want: clv.Customer{ID: "c1", X: 2, Tx: 2, T: 4, Monetary: 2500}, ok: true,
		},
		{
			name: "days", s: sum, asOf: time.Date(2024, 1, 29, 12, 0, 0, 0, time.UTC), loc: time.UTC, unitDays: 1,
			want: clv.Customer{ID: "c1", X: 2, Tx: 14, T: 28, Monetary: 2500}, ok: true,
		},
		{
			name: "asOf's day is the shop's calendar day", s: sum,
			asOf: time.Date(2024, 1, 28, 20, 0, 0, 0, time.UTC), loc: tokyo, unitDays: 1, // 05:00 on the 29th in Tokyo
			want: clv.Customer{ID: "c1", X: 2, Tx: 14, T: 28, Monetary: 2500}, ok: true,
		},
		{
			name: "one purchase day", s: customer.Summary{CustomerID: "c2", FirstDay: "2024-01-01", LastDay: "2024-01-01", PurchaseDays: 1, PaidOrders: 2},
			asOf: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), loc: time.UTC, unitDays: 7,
			want: clv.Customer{ID: "c2"}, ok: true,
		},
		{
			name: "no purchases", s: customer.Summary{CustomerID: "c3"},
			asOf: time.Date(2024, 1, 29, 0, 0, 0, 0, time.UTC), loc: time.UTC, unitDays: 7,
		},
		{
			name: "first purchase after asOf", s: sum,
			asOf: time.Date(2023, 12, 31, 23, 0, 0, 0, time.UTC), loc: time.UTC, unitDays: 7,
		},
		{
			name: "unreadable days", s: customer.Summary{CustomerID: "c4", FirstDay: "01/01/2024", LastDay: "2024-01-02", PurchaseDays: 2},
			asOf: time.Date(2024, 1, 29, 0, 0, 0, 0, time.UTC), loc: time.UTC, unitDays: 7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := BTYD(tt.s, tt.asOf, tt.loc, tt.unitDays)
			if ok != tt.ok || got != tt.want {
				t.Errorf("BTYD = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestInputs(t *testing.T) {
	sums := []customer.Summary{
		{CustomerID: "a", FirstDay: "2024-01-01", LastDay: "2024-01-08", PurchaseDays: 2, RepeatSpend: 1999},
		{CustomerID: "b"}, // no purchases: left out
		{CustomerID: "c", FirstDay: "2024-01-22", LastDay: "2024-01-22", PurchaseDays: 1},
		{CustomerID: "d", FirstDay: "2024-02-01", LastDay: "2024-02-01", PurchaseDays: 1}, // after asOf
	}
	asOf := time.Date(2024, 1, 29, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		o    InputOptions
		want []clv.Customer
	}{
		{
			name: "defaults: weeks, UTC, minor units",
			o:    InputOptions{AsOf: asOf},
			want: []clv.Customer{{ID: "a", X: 1, Tx: 1, T: 4, Monetary: 1999}, {ID: "c", T: 1}},
		},
		{
			name: "days and cents",
			o:    InputOptions{AsOf: asOf, Unit: clv.Day, Exponent: 2, Location: time.UTC},
			want: []clv.Customer{{ID: "a", X: 1, Tx: 7, T: 28, Monetary: 19.99}, {ID: "c", T: 7}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Inputs(sums, tt.o)
			if len(got) != len(tt.want) {
				t.Fatalf("Inputs = %+v; want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("input %d = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFitFails(t *testing.T) {
	tests := []struct {
		name string
		cs   []clv.Customer
	}{
		{"no customers", nil},
		{"nobody bought twice", []clv.Customer{{ID: "a", T: 3}, {ID: "b", T: 5}, {ID: "c", T: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := FitCustomers(tt.cs); err == nil {
				t.Error("Fit succeeded; want an error")
			}
		})
	}
}

func TestRank(t *testing.T) {
	scored := func(id string, monetary, pAlive float64) Scored {
		var s Scored
		s.Customer = clv.Customer{ID: id, Monetary: monetary}
		s.Score.PAlive = pAlive
		return s
	}
	tests := []struct {
		name string
		in   []Scored
		want []string
	}{
		{"empty", nil, nil},
		{
			name: "churn risk times repeat value",
			in:   []Scored{scored("low-risk", 100, 0.9), scored("gone-cheap", 10, 0), scored("slipping", 100, 0.5), scored("one-timer", 0, 0.1)},
			want: []string{"slipping", "gone-cheap", "low-risk", "one-timer"},
		},
		{
			name: "ties by id",
			in:   []Scored{scored("b", 50, 0.5), scored("c", 0, 0.2), scored("a", 50, 0.5), scored("d", 0, 0.9)},
			want: []string{"a", "b", "c", "d"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]Scored(nil), tt.in...)
			got := Rank(tt.in)
			var ids []string
			for _, s := range got {
				ids = append(ids, s.Customer.ID)
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("Rank = %v; want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Fatalf("Rank = %v; want %v", ids, tt.want)
				}
			}
			for i := range before {
				if before[i] != tt.in[i] {
					t.Fatal("Rank modified its input")
				}
			}
		})
	}
}

func TestWinBackValue(t *testing.T) {
	var s Scored
	s.Customer.Monetary = 80
	s.Score.PAlive = 0.25
	if got := s.WinBackValue(); math.Abs(got-60) > 1e-12 {
		t.Errorf("WinBackValue = %v; want 60", got)
	}
}
