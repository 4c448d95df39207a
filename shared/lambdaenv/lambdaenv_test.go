package lambdaenv

import (
	"context"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	t.Setenv(Table, "")
	t.Setenv(WorkQueue, "")
	t.Setenv(MetricsNamespace, "")
	if _, err := Load(context.Background(), Table, WorkQueue); err == nil ||
		!strings.Contains(err.Error(), Table) || !strings.Contains(err.Error(), WorkQueue) {
		t.Errorf("missing variables: %v", err)
	}
	t.Setenv(Table, "winback")
	t.Setenv("AWS_REGION", "eu-west-1")
	env, err := Load(context.Background(), Table)
	if err != nil || env.Vars[Table] != "winback" || env.AWS.Region != "eu-west-1" || env.Log == nil || env.MetricsNamespace != "" {
		t.Errorf("Load = %+v, %v", env, err)
	}
	// The metrics namespace is optional, and read when set.
	t.Setenv(MetricsNamespace, "winback/Winback")
	if env, err := Load(context.Background(), Table); err != nil || env.MetricsNamespace != "winback/Winback" {
		t.Errorf("Load with %s: MetricsNamespace %q, %v", MetricsNamespace, env.MetricsNamespace, err)
	}
}
