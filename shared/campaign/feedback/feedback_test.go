package feedback_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/feedback"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/memstore"
)

// testStore is what the tests set up and check through: both stores
// have it.
type testStore interface {
	feedback.Store
	CreateShop(ctx context.Context, sh shop.Shop, cred shop.Credentials) error
	BeginCampaign(ctx context.Context, c campaign.Campaign) (campaign.Campaign, error)
	AddRecipient(ctx context.Context, sh shop.Shop, r campaign.Recipient, capSince time.Time) (bool, error)
	Suppressed(ctx context.Context, sh shop.Shop, email string) (string, error)
}

var (
	_ testStore = (*memstore.Store)(nil)
	_ testStore = (*store.Store)(nil)
)

var tableSeq atomic.Int64

// backends are the stores the handler is tested over: the in-memory one
// and the DynamoDB adapter on DynamoDB Local, a fresh table per test.
var backends = []struct {
	name string
	open func(t *testing.T) testStore
}{
	{"memstore", func(t *testing.T) testStore { return memstore.New() }},
	{"dynamodb", func(t *testing.T) testStore {
		db := emulator.DynamoDB(t)
		table := fmt.Sprintf("feedback-test-%d-%d", time.Now().UnixNano()%1e6, tableSeq.Add(1))
		if err := store.CreateTable(context.Background(), db, table); err != nil {
			t.Fatal(err)
		}
		return store.New(db, table)
	}},
}

var now = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

// logBuffer collects what a handler logs, to check that no address is in it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// noAddresses fails the test if the log holds anything like an address.
func noAddresses(t *testing.T, logs *logBuffer) {
	t.Helper()
	if s := logs.String(); strings.Contains(s, "@") {
		t.Errorf("the log holds an address:\n%s", s)
	}
}

func newHandler(st feedback.Store, logs *logBuffer) *feedback.Handler {
	return &feedback.Handler{Store: st, Log: slog.New(slog.NewJSONHandler(logs, nil)), Now: func() time.Time { return now }}
}

func newShop(t *testing.T, st testStore, id string) shop.Shop {
	t.Helper()
	sh := shop.Shop{ID: id, Name: id, Currency: "USD", Timezone: "UTC", Shards: 4, CreatedAt: now.AddDate(-1, 0, 0)}
	if err := st.CreateShop(context.Background(), sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	return sh
}

// addRecipient records a mailed customer of sh's campaign in state s, with
// SES message id msgID ("" for none).
func addRecipient(t *testing.T, st testStore, sh shop.Shop, campaignID, customerID string, s campaign.State, msgID string) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.BeginCampaign(ctx, campaign.Campaign{ShopID: sh.ID, ID: campaignID, AsOf: campaignID, CreatedAt: now.AddDate(0, 0, -2),
		Status: campaign.StatusSending, Settings: campaign.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	r := campaign.Recipient{ShopID: sh.ID, CampaignID: campaignID, SendID: campaign.SendID(campaignID, customerID), CustomerID: customerID,
		Group: campaign.GroupMailed, Kind: campaign.KindWinback, SelectedAt: now.AddDate(0, 0, -2), State: s, MessageID: msgID}
	if s == campaign.StateSending || s == campaign.StateInDoubt {
		r.ClaimID, r.ClaimedAt = "claim-1", now.AddDate(0, 0, -1)
	}
	if s == campaign.StateSent {
		r.SentAt = now.AddDate(0, 0, -1)
	}
	if _, err := st.AddRecipient(ctx, sh, r, now.AddDate(0, 0, -30)); err != nil {
		t.Fatal(err)
	}
}

func recipient(t *testing.T, st testStore, shopID, campaignID, customerID string) campaign.Recipient {
	t.Helper()
	r, err := st.Recipient(context.Background(), shopID, campaignID, campaign.SendID(campaignID, customerID))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func suppressed(t *testing.T, st testStore, sh shop.Shop, addr string) string {
	t.Helper()
	r, err := st.Suppressed(context.Background(), sh, addr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The sample events' shop, campaign and recipients (events/ses).
const (
	sampleShop     = "shop_sampleevent"
	sampleCampaign = "2026-11-01"
	ada, adaMsg    = "ada@example.com", "0102019a3f1c8e2b-5c7d9e1f-2a3b-4c5d-8e9f-0a1b2c3d4e5f-000000"
	grace, graceID = "grace@example.com", "0102019a3f1c8f07-8d2e4f6a-1b3c-4d5e-9f0a-1b2c3d4e5f60-000000"
	jon, jonMsg    = "jon@example.com", "0102019a3f1c9a41-3e5f7a9b-4c6d-4e8f-a0b1-c2d3e4f5a6b7-000000"
)

// TestSampleEvents replays every events/ses/*.json through the Lambda
// runtime's handler wrapper, as the mailevents function receives them,
// and checks what each did to the sample shop, and that a second shop
// with the same customers and addresses is never touched.
func TestSampleEvents(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			sh := newShop(t, st, sampleShop)
			other := newShop(t, st, "shop_othersample")
			for _, s := range []shop.Shop{sh, other} {
				addRecipient(t, st, s, sampleCampaign, "cust-42", campaign.StateInDoubt, "")
				addRecipient(t, st, s, sampleCampaign, "cust-7", campaign.StateSent, graceID)
				addRecipient(t, st, s, sampleCampaign, "115310627314723954", campaign.StateSent, jonMsg)
			}
			logs := &logBuffer{}
			invoke := lambda.NewHandler(newHandler(st, logs).Handle)

			type check func(t *testing.T)
			hasEvents := func(customerID string, want ...string) check {
				return func(t *testing.T) {
					t.Helper()
					got := []string{}
					for ev := range recipient(t, st, sh.ID, sampleCampaign, customerID).Events {
						got = append(got, ev)
					}
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, append([]string{}, want...)) {
						t.Errorf("%s has events %v, want %v", customerID, got, want)
					}
				}
			}
			reason := func(addr, want string) check {
				return func(t *testing.T) {
					t.Helper()
					if got := suppressed(t, st, sh, addr); got != want {
						t.Errorf("%s suppressed for %q, want %q", addr, got, want)
					}
				}
			}
			steps := []struct {
				file   string
				checks []check
			}{
				{"sent.json", []check{hasEvents("cust-42", campaign.EventSent), func(t *testing.T) {
					r := recipient(t, st, sh.ID, sampleCampaign, "cust-42")
					if r.State != campaign.StateSent || r.MessageID != adaMsg || !r.SentAt.Equal(ts("2026-11-02T09:00:04.112Z")) {
						t.Errorf("an in-doubt recipient is settled by its Send event: %+v", r)
					}
				}}},
				{"delivered.json", []check{hasEvents("cust-42", campaign.EventSent, campaign.EventDelivered), func(t *testing.T) {
					r := recipient(t, st, sh.ID, sampleCampaign, "cust-42")
					if at := r.Events[campaign.EventDelivered]; !at.Equal(ts("2026-11-02T09:00:06.287Z")) {
						t.Errorf("delivered at %v, want the delivery's time", at)
					}
				}}},
				{"delivery-delayed.json", []check{hasEvents("cust-7"), reason(grace, "")}},
				{"bounce-transient.json", []check{hasEvents("cust-7", campaign.EventSoftBounced), reason(grace, "")}},
				{"bounce-permanent.json", []check{hasEvents("115310627314723954", campaign.EventBounced), reason(jon, store.SuppressBounce)}},
				{"complaint.json", []check{hasEvents("cust-42", campaign.EventSent, campaign.EventDelivered, campaign.EventComplained),
					reason(ada, store.SuppressComplaint)}},
				{"not-ours.json", []check{reason("sam@example.org", "")}},
			}
			files, _ := filepath.Glob(filepath.Join("..", "..", "..", "events", "ses", "*.json"))
			var onDisk, inTable []string
			for _, f := range files {
				onDisk = append(onDisk, filepath.Base(f))
			}
			for _, s := range steps {
				inTable = append(inTable, s.file)
			}
			slices.Sort(onDisk)
			slices.Sort(inTable)
			if !slices.Equal(onDisk, inTable) {
				t.Fatalf("sample events %v, replayed %v: keep them in step", onDisk, inTable)
			}
			for _, s := range steps {
				raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "ses", s.file))
				if err != nil {
					t.Fatal(err)
				}
				var ev events.EventBridgeEvent
				if err := json.Unmarshal(raw, &ev); err != nil || ev.Source != feedback.Source {
					t.Fatalf("%s: %v (source %q)", s.file, err, ev.Source)
				}
				for i := range 2 { // EventBridge delivers at least once: a repeat changes nothing more
					if _, err := invoke.Invoke(ctx, raw); err != nil {
						t.Fatalf("%s (delivery %d): %v", s.file, i+1, err)
					}
					t.Run(fmt.Sprintf("%s#%d", s.file, i+1), func(t *testing.T) {
						for _, c := range s.checks {
							c(t)
						}
					})
				}
			}

			for _, addr := range []string{ada, grace, jon} {
				if r := suppressed(t, st, other, addr); r != "" {
					t.Errorf("shop %s's %s is suppressed for %q by another shop's events", other.ID, addr, r)
				}
			}
			for _, c := range []string{"cust-42", "cust-7", "115310627314723954"} {
				if r := recipient(t, st, other.ID, sampleCampaign, c); len(r.Events) != 0 || r.State == campaign.StateSent && r.MessageID == adaMsg {
					t.Errorf("shop %s's recipient %s changed by another shop's events: %+v", other.ID, c, r)
				}
			}
			if !strings.Contains(logs.String(), "without our shop tag") {
				t.Errorf("the event that is not ours is not logged:\n%s", logs)
			}
			noAddresses(t, logs)
		})
	}
}

// event builds an SES event of shop shopID on EventBridge; tags holds the
// campaign and send id tags (none when nil).
func event(eventType, shopID string, tags map[string][]string, msgID string, addrs []string, edit func(*feedback.Record)) events.EventBridgeEvent {
	all := map[string][]string{"ses:configuration-set": {"winback"}}
	if shopID != "" {
		all[feedback.TagShop] = []string{shopID}
	}
	for k, v := range tags {
		all[k] = v
	}
	rec := feedback.Record{EventType: eventType,
		Mail: feedback.Mail{Timestamp: "2026-11-02T09:00:00.500Z", MessageID: msgID, Destination: addrs, Tags: all}}
	var who []feedback.Addressee
	for _, a := range addrs {
		who = append(who, feedback.Addressee{EmailAddress: a})
	}
	switch eventType {
	case feedback.TypeBounce:
		rec.Bounce = &feedback.Bounce{BounceType: feedback.BouncePermanent, BounceSubType: "General", BouncedRecipients: who, Timestamp: "2026-11-02T09:00:02Z"}
	case feedback.TypeComplaint:
		rec.Complaint = &feedback.Complaint{ComplainedRecipients: who, ComplaintFeedbackType: "abuse", Timestamp: "2026-11-02T10:00:00Z"}
	case feedback.TypeDelivery:
		rec.Delivery = &feedback.Delivery{Timestamp: "2026-11-02T09:00:01Z"}
	}
	if edit != nil {
		edit(&rec)
	}
	detail, _ := json.Marshal(rec)
	dt := map[string]string{feedback.TypeSend: "Email Sent", feedback.TypeDelivery: "Email Delivered",
		feedback.TypeBounce: "Email Bounced", feedback.TypeComplaint: "Email Complaint Received"}[eventType]
	return events.EventBridgeEvent{Version: "0", ID: "ev-1", DetailType: dt, Source: feedback.Source, AccountID: "123456789012",
		Time: now, Region: "eu-west-1", Detail: detail}
}

func TestRules(t *testing.T) {
	const camp = "2026-11-01"
	tagsOf := func(customerID string) map[string][]string {
		return map[string][]string{feedback.TagCampaign: {camp}, feedback.TagSendID: {campaign.SendID(camp, customerID)}}
	}
	const addr = "kim@example.com"
	type want struct {
		state      campaign.State
		msgID      string
		events     []string
		suppressed string
	}
	tests := []struct {
		name    string
		state   campaign.State // the recipient's before
		msgID   string         // its message id before
		ev      func(shopID string) events.EventBridgeEvent
		want    want
		sentAt  time.Time // when the event settles the recipient
		sameLog string    // a phrase the log holds
	}{
		{"send settles a claimed recipient", campaign.StateSending, "",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeSend, s, tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", []string{campaign.EventSent}, ""}, ts("2026-11-02T09:00:00.5Z"), "settled"},
		{"delivery settles an in-doubt recipient", campaign.StateInDoubt, "",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeDelivery, s, tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", []string{campaign.EventDelivered}, ""}, ts("2026-11-02T09:00:00.5Z"), "settled"},
		{"send of a recipient already sent records the event only", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeSend, s, tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", []string{campaign.EventSent}, ""}, now.AddDate(0, 0, -1), ""},
		{"failed recipient is not made sent", campaign.StateFailed, "",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeDelivery, s, tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateFailed, "", []string{campaign.EventDelivered}, ""}, time.Time{}, ""},
		{"another message's delivery is not applied", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeDelivery, s, tagsOf("c1"), "m-2", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, ""}, now.AddDate(0, 0, -1), "another message"},
		{"another message's permanent bounce suppresses the address, not the recipient", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeBounce, s, tagsOf("c1"), "m-2", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, store.SuppressBounce}, now.AddDate(0, 0, -1), "another message"},
		{"permanent bounce", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeBounce, s, tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", []string{campaign.EventBounced}, store.SuppressBounce}, now.AddDate(0, 0, -1), "suppressed"},
		{"undetermined bounce is recorded, not suppressed", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeBounce, s, tagsOf("c1"), "m-1", []string{addr}, func(r *feedback.Record) { r.Bounce.BounceType = "Undetermined" })
			},
			want{campaign.StateSent, "m-1", []string{campaign.EventSoftBounced}, ""}, now.AddDate(0, 0, -1), "soft bounce"},
		{"complaint", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeComplaint, s, tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", []string{campaign.EventComplained}, store.SuppressComplaint}, now.AddDate(0, 0, -1), ""},
		{"complaint without its recipients names the one destination", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeComplaint, s, tagsOf("c1"), "m-1", []string{addr}, func(r *feedback.Record) { r.Complaint.ComplainedRecipients = nil })
			},
			want{campaign.StateSent, "m-1", []string{campaign.EventComplained}, store.SuppressComplaint}, now.AddDate(0, 0, -1), ""},
		{"a malformed send id tag: suppression only", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeBounce, s, map[string][]string{feedback.TagCampaign: {camp}, feedback.TagSendID: {"XYZ"}}, "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, store.SuppressBounce}, now.AddDate(0, 0, -1), "malformed campaign tags"},
		{"no campaign tags: suppression only", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeComplaint, s, nil, "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, store.SuppressComplaint}, now.AddDate(0, 0, -1), ""},
		{"an unknown recipient", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeBounce, s, tagsOf("c-unknown"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, store.SuppressBounce}, now.AddDate(0, 0, -1), "unknown recipient"},
		{"an unknown shop", campaign.StateSent, "m-1",
			func(string) events.EventBridgeEvent {
				return event(feedback.TypeBounce, "shop_gone", tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, ""}, now.AddDate(0, 0, -1), "unknown shop"},
		{"two shop tags", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event(feedback.TypeBounce, "", map[string][]string{feedback.TagShop: {s, s}}, "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, ""}, now.AddDate(0, 0, -1), "without our shop tag"},
		{"not SES", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				ev := event(feedback.TypeBounce, s, tagsOf("c1"), "m-1", []string{addr}, nil)
				ev.Source = "aws.events"
				return ev
			},
			want{campaign.StateSent, "m-1", nil, ""}, now.AddDate(0, 0, -1), "not an SES event"},
		{"detail not JSON", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				ev := event(feedback.TypeBounce, s, tagsOf("c1"), "m-1", []string{addr}, nil)
				ev.Detail = json.RawMessage(`"` + addr + `"`)
				return ev
			},
			want{campaign.StateSent, "m-1", nil, ""}, now.AddDate(0, 0, -1), "malformed"},
		{"detail without an event type", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event("", s, tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, ""}, now.AddDate(0, 0, -1), "malformed"},
		{"an open is not recorded", campaign.StateSent, "m-1",
			func(s string) events.EventBridgeEvent {
				return event("Open", s, tagsOf("c1"), "m-1", []string{addr}, nil)
			},
			want{campaign.StateSent, "m-1", nil, ""}, now.AddDate(0, 0, -1), "not recorded"},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx := context.Background()
					st := b.open(t)
					sh, other := newShop(t, st, shop.NewID()), newShop(t, st, shop.NewID())
					addRecipient(t, st, sh, camp, "c1", tt.state, tt.msgID)
					logs := &logBuffer{}
					if err := newHandler(st, logs).Handle(ctx, tt.ev(sh.ID)); err != nil {
						t.Fatal(err)
					}
					r := recipient(t, st, sh.ID, camp, "c1")
					var got []string
					for ev := range r.Events {
						got = append(got, ev)
					}
					slices.Sort(got)
					if r.State != tt.want.state || r.MessageID != tt.want.msgID || !slices.Equal(got, tt.want.events) || !r.SentAt.Equal(tt.sentAt) {
						t.Errorf("recipient %s %q events %v sent at %v; want %s %q %v %v", r.State, r.MessageID, got, r.SentAt,
							tt.want.state, tt.want.msgID, tt.want.events, tt.sentAt)
					}
					if s := suppressed(t, st, sh, addr); s != tt.want.suppressed {
						t.Errorf("suppressed for %q, want %q", s, tt.want.suppressed)
					}
					if s := suppressed(t, st, other, addr); s != "" {
						t.Errorf("another shop's address suppressed for %q", s)
					}
					if !strings.Contains(logs.String(), tt.sameLog) {
						t.Errorf("log lacks %q:\n%s", tt.sameLog, logs)
					}
					noAddresses(t, logs)
				})
			}
		})
	}
}

var errDown = errors.New("store down")

// failing is the in-memory store with one of its methods failing, as a
// throttled or unreachable DynamoDB would.
type failing struct {
	*memstore.Store
	method string
}

func (f failing) Shop(ctx context.Context, id string) (shop.Shop, error) {
	if f.method == "Shop" {
		return shop.Shop{}, errDown
	}
	return f.Store.Shop(ctx, id)
}

func (f failing) Suppress(ctx context.Context, sh shop.Shop, email, reason string) error {
	if f.method == "Suppress" {
		return errDown
	}
	return f.Store.Suppress(ctx, sh, email, reason)
}

func (f failing) Recipient(ctx context.Context, shopID, campaignID, sendID string) (campaign.Recipient, error) {
	if f.method == "Recipient" {
		return campaign.Recipient{}, errDown
	}
	return f.Store.Recipient(ctx, shopID, campaignID, sendID)
}

func (f failing) ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error) {
	if f.method == "ChangeRecipient" {
		return campaign.Recipient{}, errDown
	}
	return f.Store.ChangeRecipient(ctx, shopID, campaignID, sendID, ch)
}

// TestStoreFailuresAreRetried: a store failure fails the invocation, so
// that Lambda retries the event; the retry, once the store is back,
// applies it.
func TestStoreFailuresAreRetried(t *testing.T) {
	const camp = "2026-11-01"
	tags := map[string][]string{feedback.TagCampaign: {camp}, feedback.TagSendID: {campaign.SendID(camp, "c1")}}
	for _, method := range []string{"Shop", "Suppress", "Recipient", "ChangeRecipient"} {
		t.Run(method, func(t *testing.T) {
			ctx := context.Background()
			ms := memstore.New()
			sh := newShop(t, ms, shop.NewID())
			addRecipient(t, ms, sh, camp, "c1", campaign.StateSent, "m-1")
			raw, _ := json.Marshal(event(feedback.TypeBounce, sh.ID, tags, "m-1", []string{"kim@example.com"}, nil))
			logs := &logBuffer{}
			_, err := lambda.NewHandler(newHandler(failing{ms, method}, logs).Handle).Invoke(ctx, raw)
			if err == nil || !strings.Contains(err.Error(), errDown.Error()) {
				t.Fatalf("invocation error %v, want the store's", err)
			}
			if err := newHandler(ms, logs).Handle(ctx, event(feedback.TypeBounce, sh.ID, tags, "m-1", []string{"kim@example.com"}, nil)); err != nil {
				t.Fatal(err)
			}
			if r := recipient(t, ms, sh.ID, camp, "c1"); r.Events[campaign.EventBounced].IsZero() || suppressed(t, ms, sh, "kim@example.com") != store.SuppressBounce {
				t.Errorf("after the retry: %+v", r)
			}
			noAddresses(t, logs)
		})
	}
}
