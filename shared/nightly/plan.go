package nightly

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// PlanEvent is what the schedule invokes the nightly function with: an
// EventBridge scheduled event (the schedule's input template fills id and
// time from <aws.scheduler.execution-id> and
// <aws.scheduler.scheduled-time>), whose detail may narrow or override the
// night. A CLI sends the same shape with only detail set.
type PlanEvent struct {
	Version    string   `json:"version,omitempty"`
	ID         string   `json:"id,omitempty"`
	DetailType string   `json:"detail-type,omitempty"`
	Source     string   `json:"source,omitempty"`
	Account    string   `json:"account,omitempty"`
	Time       string   `json:"time,omitempty"`
	Region     string   `json:"region,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Detail     Request  `json:"detail"`
}

// Request narrows or overrides a night.
type Request struct {
	// ShopID plans one shop ("" means every shop).
	ShopID string `json:"shop_id,omitempty"`
	// AsOf is the day to score, YYYY-MM-DD ("" means each shop's
	// yesterday in its time zone at the event's time).
	AsOf string `json:"as_of,omitempty"`
	// Force runs a day again that is already done.
	Force bool `json:"force,omitempty"`
}

// PlanResult is what Plan did, shop by shop.
type PlanResult struct {
	Shops    []PlannedShop `json:"shops"`
	Messages int           `json:"messages"`
}

// PlannedShop is one shop's plan: the as-of day, what happened to its run
// (started, resumed, skipped: already done, failed) and the messages sent.
type PlannedShop struct {
	ShopID   string `json:"shop_id"`
	AsOf     string `json:"as_of,omitempty"`
	Action   string `json:"action"`
	Attempt  int    `json:"attempt,omitempty"`
	Messages int    `json:"messages"`
	Error    string `json:"error,omitempty"`
}

// The actions of a PlannedShop.
const (
	ActionStarted = "started"
	ActionResumed = "resumed"
	ActionSkipped = "skipped"
	ActionFailed  = "failed"
)

// ErrBadRequest means the event asks for something that cannot be run:
// a malformed or future as-of day, an unknown shop.
var ErrBadRequest = errors.New("bad nightly request")

// PlanStore is what planning reads and writes (store.Store, memstore.Store).
type PlanStore interface {
	ShopIDs(ctx context.Context) ([]string, error)
	Shop(ctx context.Context, id string) (shop.Shop, error)
	BeginRun(ctx context.Context, sh shop.Shop, day string, force bool) (scores.Run, bool, capacity.Usage, error)
	MarkRun(ctx context.Context, shopID, day string, m scores.Mark) (scores.Run, capacity.Usage, error)
}

// Planner plans the nights; Plan is the schedule's Lambda handler.
type Planner struct {
	Store PlanStore
	Queue Queue
	Log   *slog.Logger
	// Now is the clock when the event carries no time (nil: time.Now).
	Now func() time.Time
}

func (j *Planner) log() *slog.Logger {
	if j.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return j.Log
}

// Plan is the scheduler's handler: for every shop (or the one named) it
// decides the as-of day, begins or resumes the run and sends the messages
// the run still needs. A shop that fails does not stop the others; the
// error then names them all, so that the schedule's retry plans again
// (which is safe: a started run is resumed, a done one skipped).
func (j *Planner) Plan(ctx context.Context, ev PlanEvent) (PlanResult, error) {
	var now time.Time
	switch {
	case ev.Time == "" && j.Now != nil:
		now = j.Now()
	case ev.Time == "":
		now = time.Now()
	default:
		t, err := time.Parse(time.RFC3339, ev.Time)
		if err != nil {
			return PlanResult{}, fmt.Errorf("%w: time %q: %v", ErrBadRequest, ev.Time, err)
		}
		now = t
	}
	req := ev.Detail
	if req.AsOf != "" {
		if _, err := time.Parse(time.DateOnly, req.AsOf); err != nil {
			return PlanResult{}, fmt.Errorf("%w: as_of %q is not a YYYY-MM-DD day", ErrBadRequest, req.AsOf)
		}
	}
	ids := []string{req.ShopID}
	if req.ShopID == "" {
		var err error
		if ids, err = j.Store.ShopIDs(ctx); err != nil {
			return PlanResult{}, fmt.Errorf("plan: %w", err)
		}
	}
	res := PlanResult{Shops: []PlannedShop{}}
	var errs []error
	for _, id := range ids {
		p, err := j.planShop(ctx, id, req, now)
		if err != nil {
			p.Action, p.Error = ActionFailed, err.Error()
			errs = append(errs, fmt.Errorf("shop %s: %w", id, err))
			j.log().ErrorContext(ctx, "nightly plan failed", "shop_id", id, "stage", scores.StagePlan, "error", err.Error())
		}
		res.Shops = append(res.Shops, p)
		res.Messages += p.Messages
	}
	return res, errors.Join(errs...)
}

// AsOf is the day a night scores by default: yesterday in the shop's time
// zone at now.
func AsOf(sh shop.Shop, now time.Time) string {
	y, m, d := now.In(sh.Location()).Date()
	return time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

func (j *Planner) planShop(ctx context.Context, id string, req Request, now time.Time) (PlannedShop, error) {
	p := PlannedShop{ShopID: id}
	sh, err := j.Store.Shop(ctx, id)
	if errors.Is(err, shop.ErrNotFound) {
		return p, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err != nil {
		return p, err
	}
	latest := AsOf(sh, now)
	p.AsOf = latest
	if req.AsOf != "" {
		if req.AsOf > latest {
			return p, fmt.Errorf("%w: as_of %s is not over yet in %s (the latest complete day is %s)", ErrBadRequest, req.AsOf, sh.Location(), latest)
		}
		p.AsOf = req.AsOf
	}
	run, created, u, err := j.Store.BeginRun(ctx, sh, p.AsOf, req.Force)
	if err != nil {
		return p, err
	}
	p.Attempt = run.Attempt
	switch {
	case created:
		p.Action = ActionStarted
	case run.Done:
		p.Action = ActionSkipped
	default:
		p.Action = ActionResumed
	}
	msgs := Pending(run)
	if err := Send(ctx, j.Queue, msgs); err != nil {
		return p, err
	}
	p.Messages = len(msgs)
	_, mu, err := j.Store.MarkRun(ctx, sh.ID, p.AsOf, scores.Mark{Stage: scores.StagePlan, Usage: u, At: now})
	if err != nil {
		return p, err
	}
	u.Add(mu)
	j.log().InfoContext(ctx, "nightly plan", "shop_id", sh.ID, "stage", scores.StagePlan, "as_of", p.AsOf,
		"action", p.Action, "attempt", run.Attempt, "shards", run.Shards, "messages", len(msgs), UsageAttr(u))
	return p, nil
}
