// Package scores names what the nightly job leaves in the store and what
// reads it back: each customer's latest scores (Score), the shop's KPI
// history (Day), a night's run of one shop (Run, Mark), the intermediate
// results the stages hand over (Kind, Ref), and the position and filter of
// a score listing (Pos, Filter). It holds types only, so the store, the
// nightly handlers and the HTTP routes share them without importing each
// other.
//
// It does not import package scoring on purpose: scoring links the model
// code (shared/clv, gonum), which only the scoring functions may link
// (functions/binaries_test.go). Score mirrors scoring.CustomerScore field
// for field (nightly converts, and a test keeps the two in step); Day
// carries scoring.Day as its JSON.
package scores

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/winback/winback/shared/capacity"
)

// ErrNoRun means there is no run for that shop and day.
var ErrNoRun = errors.New("no such run")

// Score is a customer's latest stored scores: scoring.CustomerScore with
// its named strings as plain strings. The JSON field names are the
// export's column names.
type Score struct {
	CustomerID            string  `json:"customer_id"`
	AsOf                  string  `json:"as_of"`
	Model                 string  `json:"model"`
	PAlive                float64 `json:"p_alive"`
	ChurnRisk             float64 `json:"churn_risk"`
	ChurnBand             string  `json:"churn_band"`
	Active                bool    `json:"active"`
	ExpectedPurchases30d  float64 `json:"expected_purchases_30d"`
	ExpectedPurchases90d  float64 `json:"expected_purchases_90d"`
	ExpectedPurchases365d float64 `json:"expected_purchases_365d"`
	ExpectedOrderValue    float64 `json:"expected_order_value"`
	CLV                   float64 `json:"clv"`
	NextOrderDate         string  `json:"next_order_date"`
	Recency               int     `json:"r_score"`
	Frequency             int     `json:"f_score"`
	Monetary              int     `json:"m_score"`
	Segment               string  `json:"segment"`
	SpendTier             string  `json:"spend_tier"`
}

// Day is a shop's KPIs for one as-of day: Data is the scoring.Day as JSON
// (nightly.DayOf decodes it; a route may also serve it as it is).
type Day struct {
	AsOf string
	Data json.RawMessage
}

// Filter selects scored customers by segment (scoring.Segment) and churn
// band (scoring.Band); an empty field matches any value.
type Filter struct {
	Segment string
	Band    string
}

// Pos is a position in a shop's score listing, which is ordered by shard,
// then customer id. A listing continues after it.
type Pos struct {
	Shard      int
	CustomerID string
}

// Stage is a step of the nightly job.
type Stage string

// The stages, in order: plan (the schedule), map (per shard: sufficient
// statistics), fit (per shop: the model), score (per shard: scores and a
// KPI partial), finish (per shop: the day's KPIs).
const (
	StagePlan   Stage = "plan"
	StageMap    Stage = "map"
	StageFit    Stage = "fit"
	StageScore  Stage = "score"
	StageFinish Stage = "finish"
)

// Stages lists the stages in order.
var Stages = []Stage{StagePlan, StageMap, StageFit, StageScore, StageFinish}

// Kind is a kind of intermediate result a run stores.
type Kind string

// The intermediate results: a shard's scoring.Stats, a shard's
// per-customer scoring inputs (the map stage's hand-over to the score
// stage, so that it need not read the summaries again), the shop's
// scoring.Model, a shard's scoring.Partial.
const (
	KindStats   Kind = "STATS"
	KindInputs  Kind = "INPUTS"
	KindModel   Kind = "MODEL"
	KindPartial Kind = "PARTIAL"
)

// Ref names a stored intermediate result: its content digest and the
// number of items it was split into. Equal contents have equal refs, so
// storing a result again is a no-op.
type Ref struct {
	Digest string `json:"digest"`
	Chunks int    `json:"chunks"`
	// Customers is how many customers the result covers (for progress).
	Customers int64 `json:"customers"`
}

// Run is the state of one shop's night: which shards have been mapped and
// scored with which results, the model, and whether it is done. Every
// field but Usage is set once per attempt: the first write wins, and a
// duplicate message finds it already set.
type Run struct {
	ShopID string
	AsOf   string // YYYY-MM-DD in the shop's time zone
	Shards int
	// Attempt counts the run's starts: 1, plus one per forced re-run.
	Attempt int
	Mapped  map[int]Ref
	// Inputs holds each mapped shard's per-customer inputs (KindInputs),
	// set together with its Mapped entry; a shard mapped without them
	// (by an older worker) has none.
	Inputs map[int]Ref
	Model  *Ref // nil until fitted
	Scored map[int]Ref
	Done   bool
	// Failed says why the run ended without a report ("" normally), e.g.
	// a shop with no customers.
	Failed     string
	StartedAt  time.Time
	FinishedAt time.Time
	// Usage is what each stage cost, summed over every delivery
	// (duplicates and retries included); the update of the run item that
	// records it (one per shard and stage, 1–4 write units) is not in it.
	Usage map[Stage]capacity.Usage
}

// AllMapped reports whether every shard has its statistics.
func (r Run) AllMapped() bool { return len(r.Mapped) >= r.Shards }

// AllScored reports whether every shard has been scored.
func (r Run) AllScored() bool { return len(r.Scored) >= r.Shards }

// Customers is the number of customers the mapped shards hold.
func (r Run) Customers() int64 {
	var n int64
	for _, ref := range r.Mapped {
		n += ref.Customers
	}
	return n
}

// Mark is one change to a run, made by a stage. Each sets its field only
// if it is not set yet (map: Mapped[Shard], and Inputs[Shard] from Inputs
// in the same write; fit: Model; score:
// Scored[Shard]; finish: Done and FinishedAt), and adds Usage to the
// stage's cost. Failed, when set, ends the run without a report.
type Mark struct {
	Stage Stage
	Shard int
	Ref   Ref
	// Inputs is the map stage's KindInputs result (a zero Digest: none).
	Inputs Ref
	Failed string
	Usage  capacity.Usage
	At     time.Time
}
