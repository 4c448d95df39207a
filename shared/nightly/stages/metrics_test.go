package stages_test

import (
	"bytes"
	"fmt"
	"github.com/winback/winback/shared/metrics/metricstest"
	"log/slog"
	"testing"

	"github.com/winback/winback/shared/nightly"
)

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

		got, ns := metricstest.Take(t, &logs, "CustomersScored")
		want, wantNS := fmt.Sprint([]int{len(sim.ids)}), "[winback/Test]"
		if namespace == "" {
			want, wantNS = "[]", "[]"
		}
		if fmt.Sprint(got) != want || fmt.Sprint(ns) != wantNS {
			t.Errorf("namespace %q: CustomersScored %v in %v, want %s in %s", namespace, got, ns, want, wantNS)
		}
	}
}
