package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// at is the clock of the tests' lines: 2024-05-01T12:00:00.123Z.
var at = time.UnixMilli(1714564800123)

// emit runs Emit on a JSON logger carrying a request id, as a function's
// logger does, and returns what it wrote.
func emit(t *testing.T, namespace string, dims map[string]string, values ...Value) string {
	t.Helper()
	defer func(old func() time.Time) { now = old }(now)
	now = func() time.Time { return at }
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil)).With("requestId", "req-1")
	Emit(context.Background(), log, namespace, dims, values...)
	return buf.String()
}

// decode parses one written line, failing unless it is exactly one JSON object.
func decode(t *testing.T, out string) map[string]json.RawMessage {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("want one line, got %q", out)
	}
	var line map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &line); err != nil {
		t.Fatalf("line %q: %v", out, err)
	}
	return line
}

func TestEmitShape(t *testing.T) {
	// GIVEN a namespace, one dimension and two metrics
	out := emit(t, "winback/Winback", map[string]string{"function": "score"},
		Count(CustomersScored, 1250), Value{Name: "FinishSeconds", Unit: "Seconds", Value: 1.5})
	line := decode(t, out)

	// THEN _aws is exactly the EMF metadata: the time in milliseconds,
	// one directive naming the namespace, the dimension set and the metrics
	want := `{"Timestamp":1714564800123,"CloudWatchMetrics":[{"Namespace":"winback/Winback",` +
		`"Dimensions":[["function"]],"Metrics":[{"Name":"CustomersScored","Unit":"Count"},{"Name":"FinishSeconds","Unit":"Seconds"}]}]}`
	if got := string(line["_aws"]); got != want {
		t.Errorf("_aws = %s\nwant   %s", got, want)
	}
	// AND the dimension's and the metrics' values are members of the line,
	// numbers for the metrics, beside the logger's own members
	for name, want := range map[string]string{
		"function": `"score"`, "CustomersScored": `1250`, "FinishSeconds": `1.5`,
		"requestId": `"req-1"`, "level": `"INFO"`, "msg": `"metrics"`,
	} {
		if got := string(line[name]); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if len(line) != 8 { // time, level, msg, requestId, _aws, function, 2 metrics
		t.Errorf("line has %d members, want 8: %s", len(line), out)
	}
	checkEMF(t, line)
}

func TestEmitWithoutDimensions(t *testing.T) {
	// GIVEN no dimension
	line := decode(t, emit(t, "winback/Winback", nil, Count(EmailsSent, 1)))

	// THEN the dimension set is the empty one: one metric for the namespace
	var meta metadata
	if err := json.Unmarshal(line["_aws"], &meta); err != nil {
		t.Fatal(err)
	}
	d := meta.CloudWatchMetrics[0]
	if !reflect.DeepEqual(d.Dimensions, [][]string{{}}) || string(line["EmailsSent"]) != "1" {
		t.Errorf("Dimensions = %#v, EmailsSent = %s; want [[]] and 1", d.Dimensions, line["EmailsSent"])
	}
	if !strings.Contains(string(line["_aws"]), `"Dimensions":[[]]`) {
		t.Errorf("_aws = %s, want Dimensions [[]]", line["_aws"])
	}
	checkEMF(t, line)
}

func TestEmitNothing(t *testing.T) {
	for name, out := range map[string]string{
		// GIVEN no namespace (WINBACK_METRICS_NAMESPACE unset): THEN nothing
		"no namespace": emit(t, "", nil, Count(OrdersIngested, 3)),
		// GIVEN no value, or none usable: THEN nothing
		"no value":      emit(t, "winback/Winback", map[string]string{"function": "ingest"}),
		"nameless":      emit(t, "winback/Winback", nil, Value{Unit: UnitCount, Value: 1}),
		"not a number":  emit(t, "winback/Winback", nil, Value{Name: "X", Value: math.NaN()}),
		"infinite":      emit(t, "winback/Winback", nil, Value{Name: "X", Value: math.Inf(1)}),
		"the meta name": emit(t, "winback/Winback", nil, Value{Name: "_aws", Value: 1}),
	} {
		if out != "" {
			t.Errorf("%s: wrote %q, want nothing", name, out)
		}
	}
	// AND a nil logger is no error
	Emit(context.Background(), nil, "winback/Winback", nil, Count(OrdersIngested, 3))
}

func TestEmitDropsClashes(t *testing.T) {
	// GIVEN a metric named like a dimension, a repeated metric, and a
	// non-finite one beside a good one
	line := decode(t, emit(t, "ns", map[string]string{"function": "send", "": "x"},
		Count("function", 1), Count(EmailsSent, 2), Count(EmailsSent, 3), Value{Name: "Bad", Value: math.Inf(-1)}))

	// THEN only the first EmailsSent is a metric, and the dimension keeps its value
	var meta metadata
	if err := json.Unmarshal(line["_aws"], &meta); err != nil {
		t.Fatal(err)
	}
	d := meta.CloudWatchMetrics[0]
	if !reflect.DeepEqual(d.Metrics, []metric{{Name: EmailsSent, Unit: UnitCount}}) ||
		!reflect.DeepEqual(d.Dimensions, [][]string{{"function"}}) {
		t.Errorf("directive = %+v", d)
	}
	if string(line["EmailsSent"]) != "2" || string(line["function"]) != `"send"` {
		t.Errorf("EmailsSent = %s, function = %s; want 2 and \"send\"", line["EmailsSent"], line["function"])
	}
	checkEMF(t, line)
}

func TestEmitDimensionsSorted(t *testing.T) {
	line := decode(t, emit(t, "ns", map[string]string{"stage": "finish", "function": "score"}, Count("N", 1)))
	var meta metadata
	if err := json.Unmarshal(line["_aws"], &meta); err != nil {
		t.Fatal(err)
	}
	if got := meta.CloudWatchMetrics[0].Dimensions; !reflect.DeepEqual(got, [][]string{{"function", "stage"}}) {
		t.Errorf("Dimensions = %v, want [[function stage]]", got)
	}
}

// checkEMF checks a line against the rules of the EMF specification
// CloudWatch Logs applies: _aws with a Timestamp and at least one
// directive; each directive with a namespace, dimension sets of at most 30
// names each naming a string member, and 1..100 metrics each naming a
// numeric member.
func checkEMF(t *testing.T, line map[string]json.RawMessage) {
	t.Helper()
	var meta struct {
		Timestamp         *int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	if err := json.Unmarshal(line["_aws"], &meta); err != nil || meta.Timestamp == nil || len(meta.CloudWatchMetrics) == 0 {
		t.Fatalf("_aws = %s (%v): want a Timestamp and CloudWatchMetrics", line["_aws"], err)
	}
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace == "" || d.Dimensions == nil || len(d.Metrics) == 0 || len(d.Metrics) > 100 {
			t.Errorf("directive %+v: want a namespace, dimension sets and 1..100 metrics", d)
		}
		for _, set := range d.Dimensions {
			if len(set) > 30 {
				t.Errorf("dimension set %v: more than 30", set)
			}
			for _, name := range set {
				var s string
				if err := json.Unmarshal(line[name], &s); err != nil {
					t.Errorf("dimension %s = %s: want a string member", name, line[name])
				}
			}
		}
		for _, m := range d.Metrics {
			var f float64
			if err := json.Unmarshal(line[m.Name], &f); err != nil {
				t.Errorf("metric %s = %s: want a numeric member", m.Name, line[m.Name])
			}
		}
	}
}
