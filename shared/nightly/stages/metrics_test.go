package stages_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/winback/winback/shared/nightly"
)

// customersScored returns the CustomersScored values of the EMF lines in
// logs, and the namespaces they went to.
func customersScored(t *testing.T, logs *bytes.Buffer) (values []float64, namespaces []string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var line struct {
			AWS *struct {
				CloudWatchMetrics []struct {
					Namespace string
					Metrics   []struct{ Name string }
				}
			} `json:"_aws"`
			CustomersScored float64
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil || line.AWS == nil {
			continue
		}
		d := line.AWS.CloudWatchMetrics[0]
		if len(d.Metrics) != 1 || d.Metrics[0].Name != "CustomersScored" {
			t.Errorf("metric line %s: want CustomersScored alone", l)
		}
		values = append(values, line.CustomersScored)
		namespaces = append(namespaces, d.Namespace)
	}
	return values, namespaces
}

// TestCustomersScoredMetric: a night whose every message is delivered
// twice writes CustomersScored once, with the shop's customers, when the
// worker has a namespace; without one, nothing.
func TestCustomersScoredMetric(t *testing.T) {
	for _, namespace := range []string{"winback/Test", ""} {
		f := newFixture(t)
		f.q.dup = true
		var logs bytes.Buffer
		f.j.Worker.Log = slog.New(slog.NewJSONHandler(&logs, nil))
		f.j.Worker.MetricsNamespace = namespace
		f.plan(t, nightly.Request{})
		f.q.drain(t, f.j)

		got, ns := customersScored(t, &logs)
		want, wantNS := fmt.Sprint([]int{len(sim.ids)}), "[winback/Test]"
		if namespace == "" {
			want, wantNS = "[]", "[]"
		}
		if fmt.Sprint(got) != want || fmt.Sprint(ns) != wantNS {
			t.Errorf("namespace %q: CustomersScored %v in %v, want %s in %s", namespace, got, ns, want, wantNS)
		}
	}
}
