// Package metrics writes custom CloudWatch metrics as JSON log lines in
// the embedded metric format (EMF): CloudWatch Logs turns each such line
// of a function's log group into data points of the metrics it names. No
// API call, no cloudwatch:PutMetricData permission, nothing to flush: a
// metric is one more log line.
//
// Each metric name is one custom metric per distinct set of dimension
// values (about $0.30 a month each), so dimensions must stay few and of
// low cardinality: never a shop, customer or campaign id.
package metrics

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"slices"
	"time"
)

// The custom metrics winback emits, in the namespace of its stack
// (WINBACK_METRICS_NAMESPACE, "winback/<stack>"), without dimensions.
const (
	// OrdersIngested counts the orders a request created or updated.
	OrdersIngested = "OrdersIngested"
	// CustomersScored counts the customers of a shop's finished night.
	CustomersScored = "CustomersScored"
	// EmailsSent counts the campaign e-mails SES accepted.
	EmailsSent = "EmailsSent"
)

// UnitCount is the CloudWatch unit of a count.
const UnitCount = "Count"

// Value is one data point of one metric. Unit is a CloudWatch unit
// ("Count", "Seconds", "Bytes", ...); empty means None.
type Value struct {
	Name  string
	Unit  string
	Value float64
}

// Count is a data point of a count metric.
func Count(name string, n int64) Value {
	return Value{Name: name, Unit: UnitCount, Value: float64(n)}
}

// key is the log line's member holding the EMF metadata.
const key = "_aws"

// metadata is the value of a log line's _aws member: when the line was
// written and which of its members are metrics of which namespace.
type metadata struct {
	// Timestamp is in milliseconds since the Unix epoch.
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// directive names the line's members that are metrics of Namespace, and
// the members whose values are their dimensions.
type directive struct {
	Namespace string `json:"Namespace"`
	// Dimensions holds one dimension set: the names of the line's string
	// members the metrics are recorded under ([[]]: no dimension).
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []metric   `json:"Metrics"`
}

// metric names a member of the line holding a metric's value.
type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}

// now is the clock of the lines' timestamps.
var now = time.Now

// Emit writes values as one INFO line of log, in the embedded metric
// format: the _aws metadata, each dimension's value and each metric's
// value as the line's own members, beside what log adds (time, level,
// message, request id). It writes nothing when namespace is empty (the
// function was given no WINBACK_METRICS_NAMESPACE), log is nil, or no
// value is left once those without a name, of a non-finite value, or of
// a name already used by a dimension or an earlier value are dropped.
//
// log must write JSON at the top level (no open group), as a Lambda
// function's lambdacontext logger does under the JSON log format; the
// names of dims and values must not be among the logger's own attributes.
func Emit(ctx context.Context, log *slog.Logger, namespace string, dims map[string]string, values ...Value) {
	if namespace == "" || log == nil {
		return
	}
	names := []string{}
	attrs := []slog.Attr{}
	used := map[string]bool{key: true}
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		if k == "" || used[k] {
			continue
		}
		used[k] = true
		names = append(names, k)
		attrs = append(attrs, slog.String(k, dims[k]))
	}
	var defs []metric
	for _, v := range values {
		if v.Name == "" || used[v.Name] || math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			continue
		}
		used[v.Name] = true
		defs = append(defs, metric{Name: v.Name, Unit: v.Unit})
		attrs = append(attrs, slog.Float64(v.Name, v.Value))
	}
	if len(defs) == 0 {
		return
	}
	meta := metadata{
		Timestamp: now().UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  namespace,
			Dimensions: [][]string{names},
			Metrics:    defs,
		}},
	}
	log.LogAttrs(ctx, slog.LevelInfo, "metrics", append([]slog.Attr{slog.Any(key, meta)}, attrs...)...)
}
