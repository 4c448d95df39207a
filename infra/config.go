package main

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	// The zone database in the app itself, so that nightlyTimezone is
	// checked the same on every machine that synthesizes.
	_ "time/tzdata"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/store"
)

// The stack's CDK context keys: `cdk deploy -c key=value` (several -c
// for several keys), or "context" in cdk.json. Every key is optional;
// contextKeys says what each does and what it is when unset.
const (
	ctxStage              = "stage"
	ctxSenderIdentity     = "senderIdentity"
	ctxSESMaxSendRate     = "sesMaxSendRate"
	ctxUnsubscribeBaseURL = "unsubscribeBaseUrl"
	ctxNightlySchedule    = "nightlySchedule"
	ctxNightlyTimezone    = "nightlyTimezone"
	ctxAlarmEmail         = "alarmEmail"
	ctxLogRetentionDays   = "logRetentionDays"
	ctxSendRetentionDays  = "sendRetentionDays"
	ctxTableName          = "tableName"
)

// The defaults of the context keys.
const (
	defaultStage = "prod"
	// defaultSenderIdentity is a placeholder: SES refuses to send as an
	// identity the account has not verified, so nothing is mailed until
	// senderIdentity names the shops' real, verified domain.
	defaultSenderIdentity = "example.com"
	// defaultSESMaxSendRate is SES's MaxSendRate of an account just out
	// of the sandbox (e-mails per second; the sandbox allows 1).
	defaultSESMaxSendRate = 14
	// defaultNightlySchedule runs the job at 02:30 every day, in
	// defaultNightlyTimezone. Each shop scores its own yesterday (in its
	// time zone) whatever the schedule's zone.
	defaultNightlySchedule = "cron(30 2 * * ? *)"
	defaultNightlyTimezone = "UTC"
	defaultLogRetention    = 30
	// defaultSendRetentionDays keeps a campaign's recipients a little
	// over a year (store.DefaultSendRetention): past any attribution
	// window.
	defaultSendRetentionDays = int(store.DefaultSendRetention / (24 * time.Hour))
)

// minSendRetentionDays is the shortest sendRetentionDays the functions
// accept (store.MinSendRetention): a recipient outlives its campaign's
// measurement (the longest attribution window a shop may set, a week of
// measuring after it, a day's margin).
const minSendRetentionDays = int(store.MinSendRetention / (24 * time.Hour))

// maxRetentionDays bounds sendRetentionDays: ten years, CloudWatch Logs'
// longest retention too.
const maxRetentionDays = 3653

// contextKey is one context key as the README's configuration table shows it.
type contextKey struct {
	Key, Default, Meaning string
}

// contextKeys is every context key the stack reads, with its default and
// meaning: what the README's configuration table lists (a test checks
// that every ctx* key of the package is here).
var contextKeys = []contextKey{
	{ctxStage, defaultStage, "The deployment's name: every resource is tagged winback:stage=<stage>, and the stack's " +
		"description and the alarm e-mails' sender name carry it. Lowercase letters, digits and -, at most 20."},
	{ctxSenderIdentity, defaultSenderIdentity, "The SES identities (verified domains or addresses, comma-separated) " +
		"the send function may send as; the only ones its role allows."},
	{ctxSESMaxSendRate, strconv.Itoa(defaultSESMaxSendRate), "E-mails per second winback may hand to SES: the account's " +
		"MaxSendRate, or the share of it left to winback."},
	{ctxUnsubscribeBaseURL, "the HTTP API's URL", "The HTTPS URL the unsubscribe links start with, when the API has a custom domain."},
	{ctxNightlySchedule, defaultNightlySchedule, "When the nightly job runs: an EventBridge Scheduler cron(...) or rate(...) expression."},
	{ctxNightlyTimezone, defaultNightlyTimezone, "The IANA time zone nightlySchedule is in (e.g. Europe/Berlin)."},
	{ctxAlarmEmail, "none", "Addresses (comma-separated) the alarms are mailed to; each confirms the subscription first."},
	{ctxLogRetentionDays, strconv.Itoa(defaultLogRetention), "Days the functions' logs and the API's access logs are kept: " +
		"one of " + joinInts(logRetentions()) + "."},
	{ctxSendRetentionDays, strconv.Itoa(defaultSendRetentionDays), "Days a campaign's recipients (who was mailed what, " +
		"and what became of it) are kept before DynamoDB's TTL removes them: " + strconv.Itoa(minSendRetentionDays) + " to " +
		strconv.Itoa(maxRetentionDays) + "."},
	{ctxTableName, "none: the stack creates the table", "An existing table the stack uses instead of its own: a table " +
		"restored from a backup or a point in time (README, Restore)."},
	// The API's limits (api.go, newLimits).
	{ctxAPIRateLimit, strconv.Itoa(defaultThrottleRate), "Requests per second API Gateway lets through to each route " +
		"(all shops together; the unsubscribe routes have a smaller throttle of their own); the excess is answered 429."},
	{ctxAPIBurstLimit, strconv.Itoa(defaultThrottleBurst), "The burst API Gateway allows each route above apiRateLimit."},
	{ctxShopRateLimit, strconv.FormatFloat(httpapi.DefaultLimits.ShopRate, 'f', -1, 64), "Requests per second each warm ingest " +
		"or api instance accepts from one shop (429 past it)."},
	{ctxShopBurstLimit, strconv.Itoa(httpapi.DefaultLimits.ShopBurst), "The burst each instance allows one shop above shopRateLimit."},
	{ctxIngestConcurrency, strconv.Itoa(defaultIngestConcurrency), "Reserved concurrency of the ingest function: the most " +
		"instances a flood of orders can start (0: no reservation)."},
	{ctxAPIConcurrency, strconv.Itoa(defaultAPIConcurrency), "Reserved concurrency of the api function (0: no reservation)."},
}

// config is the stack's configuration, read from the CDK context.
type config struct {
	Stage string
	// SenderIdentities are the SES identities the sender may send as.
	SenderIdentities []string
	// SESMaxSendRate is e-mails per second, above 0.
	SESMaxSendRate float64
	// UnsubscribeBaseURL is "" for the HTTP API's own URL.
	UnsubscribeBaseURL string
	NightlySchedule    string
	NightlyTimezone    string
	// AlarmEmails may be empty: no subscriber.
	AlarmEmails       []string
	LogRetentionDays  int
	SendRetentionDays int
	// TableName is "" when the stack creates the table.
	TableName string
	// Limits are the API's limits (api.go).
	Limits limits
}

// stackConfig reads and checks every context key of scope's tree, taking
// the defaults of the unset ones. It panics, as CDK constructs do, on a
// bad value, naming the key, its value and what would do.
func stackConfig(scope constructs.Construct) config {
	c := config{
		Stage:              contextString(scope, ctxStage, defaultStage),
		SenderIdentities:   senderIdentities(scope),
		SESMaxSendRate:     contextNumber(scope, ctxSESMaxSendRate, defaultSESMaxSendRate),
		UnsubscribeBaseURL: unsubscribeBaseURL(scope),
		NightlySchedule:    contextString(scope, ctxNightlySchedule, defaultNightlySchedule),
		NightlyTimezone:    contextString(scope, ctxNightlyTimezone, defaultNightlyTimezone),
		AlarmEmails:        alarmEmails(scope),
		LogRetentionDays:   contextInt(scope, ctxLogRetentionDays, defaultLogRetention),
		SendRetentionDays:  contextInt(scope, ctxSendRetentionDays, defaultSendRetentionDays),
		TableName:          contextString(scope, ctxTableName, ""),
		Limits:             newLimits(scope),
	}
	if !validStage.MatchString(c.Stage) {
		panic(fmt.Errorf("context %s = %q: want a short name of lowercase letters, digits and -, such as %q or %q",
			ctxStage, c.Stage, defaultStage, "staging"))
	}
	if !(c.SESMaxSendRate > 0) || math.IsInf(c.SESMaxSendRate, 1) {
		panic(fmt.Errorf("context %s = %v: want SES's MaxSendRate, e-mails per second, above 0 (the default %d is an account's out of the sandbox)",
			ctxSESMaxSendRate, c.SESMaxSendRate, defaultSESMaxSendRate))
	}
	if !validScheduleExpression(c.NightlySchedule) {
		panic(fmt.Errorf("context %s = %q: want a Scheduler expression such as %q (cron(minutes hours day-of-month month day-of-week year) or rate(...))",
			ctxNightlySchedule, c.NightlySchedule, defaultNightlySchedule))
	}
	if _, err := time.LoadLocation(c.NightlyTimezone); err != nil || c.NightlyTimezone == "" || c.NightlyTimezone == "Local" {
		panic(fmt.Errorf("context %s = %q: want an IANA time zone such as %q or %q", ctxNightlyTimezone, c.NightlyTimezone, "UTC", "Europe/Berlin"))
	}
	if !slices.Contains(logRetentions(), c.LogRetentionDays) {
		panic(fmt.Errorf("context %s = %d: want one of the retentions CloudWatch Logs offers: %s",
			ctxLogRetentionDays, c.LogRetentionDays, joinInts(logRetentions())))
	}
	if c.SendRetentionDays < minSendRetentionDays || c.SendRetentionDays > maxRetentionDays {
		panic(fmt.Errorf("context %s = %d: want %d to %d days (a recipient outlives its campaign's measurement: the longest attribution window, %d days, a week and a day)",
			ctxSendRetentionDays, c.SendRetentionDays, minSendRetentionDays, maxRetentionDays, campaign.MaxDays))
	}
	if c.TableName != "" && !validTableName.MatchString(c.TableName) {
		panic(fmt.Errorf("context %s = %q: want a DynamoDB table name (3 to 255 letters, digits, _, - and .), such as the restored table's",
			ctxTableName, c.TableName))
	}
	return c
}

var (
	validStage     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	validTableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
)

// retentionDays are CloudWatch Logs' retentions in days, as CDK names them.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// logRetentions are the days of retentionDays, in order.
func logRetentions() []int {
	var days []int
	for d := range retentionDays {
		days = append(days, d)
	}
	slices.Sort(days)
	return days
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// contextString is the CDK context value of key, or def when it is unset.
func contextString(scope constructs.Construct, key, def string) string {
	v := scope.Node().TryGetContext(jsii.String(key))
	if v == nil {
		return def
	}
	s, ok := v.(string)
	if !ok {
		panic(fmt.Errorf("context %s = %v: want a string", key, v))
	}
	return strings.TrimSpace(s)
}

// contextNumber is the CDK context value of key as a number (cdk.json
// holds numbers, -c gives strings), or def when it is unset.
func contextNumber(scope constructs.Construct, key string, def float64) float64 {
	v := scope.Node().TryGetContext(jsii.String(key))
	switch n := v.(type) {
	case nil:
		return def
	case float64:
		return n
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err == nil {
			return f
		}
	}
	panic(fmt.Errorf("context %s = %v: want a number", key, v))
}

// contextInt is contextNumber for a whole number.
func contextInt(scope constructs.Construct, key string, def int) int {
	f := contextNumber(scope, key, float64(def))
	if f != math.Trunc(f) || math.Abs(f) > 1e9 {
		panic(fmt.Errorf("context %s = %v: want a whole number", key, f))
	}
	return int(f)
}

// validScheduleExpression reports whether expr has the shape of a
// Scheduler cron(...) or rate(...) expression (Scheduler checks the rest
// at deployment).
func validScheduleExpression(expr string) bool {
	for _, kind := range []string{"cron(", "rate("} {
		if strings.HasPrefix(expr, kind) && strings.HasSuffix(expr, ")") {
			return len(strings.TrimSpace(expr[len(kind):len(expr)-1])) > 0
		}
	}
	return false
}

// senderIdentities are the SES identities of the senderIdentity context
// key: domains ("shop.example") or addresses ("news@shop.example"), the
// ones SES verified, which a shop's From address must belong to. No
// wildcard and no ARN: the policy names each.
func senderIdentities(scope constructs.Construct) []string {
	raw := contextString(scope, ctxSenderIdentity, defaultSenderIdentity)
	var ids []string
	for _, id := range strings.Split(raw, ",") {
		id = strings.TrimSpace(id)
		if id == "" || strings.ContainsAny(id, "*?:/ \t") {
			panic(fmt.Errorf("context %s = %q: want SES identities, comma-separated, each a verified domain (%q) or address (%q)",
				ctxSenderIdentity, raw, "shop.example", "news@shop.example"))
		}
		ids = append(ids, id)
	}
	return ids
}

// unsubscribeBaseURL is the unsubscribeBaseUrl context key without its
// trailing slashes ("" when unset: the HTTP API's own URL). RFC 8058
// one-click needs HTTPS.
func unsubscribeBaseURL(scope constructs.Construct) string {
	raw := contextString(scope, ctxUnsubscribeBaseURL, "")
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		panic(fmt.Errorf("context %s = %q: want the API's HTTPS base URL without query, such as %q",
			ctxUnsubscribeBaseURL, raw, "https://api.shop.example"))
	}
	return strings.TrimRight(raw, "/")
}

// alarmEmails are the addresses of the alarmEmail context key (none when unset).
func alarmEmails(scope constructs.Construct) []string {
	raw := contextString(scope, ctxAlarmEmail, "")
	if raw == "" {
		return nil
	}
	var addrs []string
	for _, addr := range strings.Split(raw, ",") {
		addr = strings.TrimSpace(addr)
		local, domain, ok := strings.Cut(addr, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(addr, " \t<>\"") || strings.Count(addr, "@") != 1 {
			panic(fmt.Errorf("context %s = %q: want e-mail addresses, comma-separated, such as %q",
				ctxAlarmEmail, raw, "ops@shop.example"))
		}
		addrs = append(addrs, addr)
	}
	return addrs
}
