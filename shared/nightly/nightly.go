// Package nightly runs the nightly scoring job: a schedule plans each
// shop's night (Planner.Plan) and a worker (stages.Worker.Work, an SQS
// handler) runs the stages the plan fans out through one queue:
//
//	map    per shop and shard: read the shard's summaries (the only read
//	       of them in a night), store their scoring.Stats and each
//	       customer's scoring.Input (scores.KindInputs)
//	fit    per shop: merge the shards' statistics in shard order, fit the
//	       model, store it
//	score  per shop and shard: read the shard's inputs and stored scores,
//	       score each customer, write the scores that changed, delete
//	       those of customers no longer in the shard, store the shard's
//	       KPI scoring.Partial
//	finish per shop: merge the partials in shard order, store the day's KPIs
//	campaign per shop, after finish, when the worker runs campaigns: run
//	       the shop's win-back campaign of the day (shared/campaign/runner)
//	       and measure its recent campaigns
//
// A run item per shop and as-of day (scores.Run) records which shards are
// mapped and scored with which stored result, and the model; each of those
// is set once (the first write wins), so a stage delivered twice, or
// retried after a crash, finds its work done or redoes it without effect.
// The last shard of a stage to finish sends the next stage's message; a
// duplicate of that message is harmless. Plan resumes an unfinished run by
// sending what is still missing.
//
// This package holds the messages, the plan and what both sides share; the
// stages are in nightly/stages, so that the planning function does not
// link the model code. Neither imports an AWS SDK: the store and the queue
// are ports.
package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/scores"
)

// Kind is a message's stage.
type Kind string

// The message kinds.
const (
	KindMap    Kind = "map"
	KindFit    Kind = "fit"
	KindScore  Kind = "score"
	KindFinish Kind = "finish"
	// KindCampaign follows a finished run when the worker runs campaigns.
	KindCampaign Kind = "campaign"
)

// StageCampaign is the campaign message's stage (it is not a stage of the
// run item: a run is done at finish).
const StageCampaign scores.Stage = "campaign"

// Message is one unit of work on the queue, as JSON:
//
//	{"kind":"map","shop_id":"shop_k3j5x7q2m9ab","as_of":"2025-05-01","shard":3}
//
// Shard is meaningful for map and score only (0 otherwise).
type Message struct {
	Kind   Kind   `json:"kind"`
	ShopID string `json:"shop_id"`
	AsOf   string `json:"as_of"`
	Shard  int    `json:"shard"`
}

// Body is the message as the queue carries it.
func (m Message) Body() string {
	b, _ := json.Marshal(m) // strings and an int: cannot fail
	return string(b)
}

// Stage is the message's stage ("" for an unknown kind).
func (m Message) Stage() scores.Stage {
	switch m.Kind {
	case KindMap:
		return scores.StageMap
	case KindFit:
		return scores.StageFit
	case KindScore:
		return scores.StageScore
	case KindFinish:
		return scores.StageFinish
	case KindCampaign:
		return StageCampaign
	}
	return ""
}

// Queue sends message bodies to the work queue (queue.Queue).
type Queue interface {
	Send(ctx context.Context, bodies []string) error
}

// Send sends messages to q.
func Send(ctx context.Context, q Queue, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	bodies := make([]string, len(msgs))
	for i, m := range msgs {
		bodies[i] = m.Body()
	}
	if err := q.Send(ctx, bodies); err != nil {
		return fmt.Errorf("send %d %s message(s): %w", len(msgs), msgs[0].Kind, err)
	}
	return nil
}

// ErrBadMessage means a message cannot be processed whatever the retries:
// not JSON, an unknown kind, a bad day or shard, an unknown shop. It
// still fails its delivery, so that the queue's redrive policy puts it in
// the dead-letter queue, where it can be looked at.
var ErrBadMessage = errors.New("bad nightly message")

// ParseMessage reads and checks a message body.
func ParseMessage(body string) (Message, error) {
	var m Message
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if m.Stage() == "" {
		return m, fmt.Errorf("%w: unknown kind %q", ErrBadMessage, m.Kind)
	}
	if m.ShopID == "" {
		return m, fmt.Errorf("%w: no shop_id", ErrBadMessage)
	}
	if _, err := time.Parse(time.DateOnly, m.AsOf); err != nil {
		return m, fmt.Errorf("%w: as_of %q is not a YYYY-MM-DD day", ErrBadMessage, m.AsOf)
	}
	if m.Shard < 0 {
		return m, fmt.Errorf("%w: shard %d", ErrBadMessage, m.Shard)
	}
	return m, nil
}

// Pending is what a run still needs, as the messages that do it: the
// shards not mapped yet; else the fit when there is no model; else the
// shards not scored yet; else the finish. Nothing for a run that is done.
func Pending(run scores.Run) []Message {
	at := func(k Kind, shard int) Message {
		return Message{Kind: k, ShopID: run.ShopID, AsOf: run.AsOf, Shard: shard}
	}
	var out []Message
	switch {
	case run.Done:
	case !run.AllMapped():
		for n := range run.Shards {
			if _, ok := run.Mapped[n]; !ok {
				out = append(out, at(KindMap, n))
			}
		}
	case run.Model == nil:
		out = append(out, at(KindFit, 0))
	case !run.AllScored():
		for n := range run.Shards {
			if _, ok := run.Scored[n]; !ok {
				out = append(out, at(KindScore, n))
			}
		}
	default:
		out = append(out, at(KindFinish, 0))
	}
	return out
}

// UsageAttr is a Usage as a log attribute.
func UsageAttr(u capacity.Usage) slog.Attr {
	return slog.Group("capacity",
		"round_trips", u.RoundTrips,
		"read_units", round3(u.ReadUnits), "write_units", round3(u.WriteUnits),
		"billed_read_units", round3(u.BilledReadUnits), "billed_write_units", round3(u.BilledWriteUnits))
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}
