// Package metricstest reads the metrics a test's logs hold: the embedded
// metric format lines package metrics writes.
package metricstest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Take returns the values of the metric name in the EMF lines of logs, and
// the namespaces they went to, then empties logs. A metric line that holds
// another metric, or more than one, fails the test: each of winback's
// metric lines holds one.
func Take(t testing.TB, logs *bytes.Buffer, name string) (values []float64, namespaces []string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var line struct {
			AWS *struct {
				CloudWatchMetrics []struct {
					Namespace string
					Metrics   []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil || line.AWS == nil || len(line.AWS.CloudWatchMetrics) == 0 {
			continue
		}
		d := line.AWS.CloudWatchMetrics[0]
		if len(d.Metrics) != 1 || d.Metrics[0].Name != name {
			t.Errorf("metric line %s: want %s alone", l, name)
			continue
		}
		var fields map[string]any
		_ = json.Unmarshal([]byte(l), &fields)
		v, _ := fields[name].(float64)
		values = append(values, v)
		namespaces = append(namespaces, d.Namespace)
	}
	logs.Reset()
	return values, namespaces
}
