package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const cdnowCSV = "../../testdata/cdnow/cdnow_sample_tx.csv"

func runCLVCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(append([]string{"clv"}, args...), &out, &errb)
	return out.String(), err
}

type fitOutput struct {
	Customers int `json:"customers"`
	Models    []struct {
		Model     string             `json:"model"`
		Params    map[string]float64 `json:"params"`
		LogLik    float64            `json:"log_likelihood"`
		Customers int                `json:"customers"`
		Converged bool               `json:"converged"`
		Seconds   float64            `json:"seconds"`
	} `json:"models"`
}

func TestCLVFitCDNOW(t *testing.T) {
	out, err := runCLVCmd(t, "fit", "--transactions", cdnowCSV, "--calibration-end", "1997-09-30")
	if err != nil {
		t.Fatal(err)
	}
	var got fitOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Customers != 2357 {
		t.Errorf("customers = %d, want 2357", got.Customers)
	}
	want := map[string]struct {
		param     string
		value, ll float64
		customers int
	}{
		"bgnbd":      {"r", 0.243, -9582.4, 2357},
		"mbgnbd":     {"r", 0.525, -9582.1, 2357},
		"paretonbd":  {"r", 0.553, -9595.0, 2357},
		"gammagamma": {"p", 6.25, math.NaN(), 946},
	}
	seen := map[string]bool{}
	for _, m := range got.Models {
		w, ok := want[m.Model]
		if !ok {
			continue
		}
		seen[m.Model] = true
		if !m.Converged || m.Customers != w.customers || m.Seconds <= 0 {
			t.Errorf("%s: converged=%v customers=%d seconds=%v", m.Model, m.Converged, m.Customers, m.Seconds)
		}
		if v := m.Params[w.param]; math.Abs(v-w.value) > 0.005*w.value {
			t.Errorf("%s: %s = %v, want %v", m.Model, w.param, v, w.value)
		}
		if !math.IsNaN(w.ll) && math.Abs(m.LogLik-w.ll) > 0.1 {
			t.Errorf("%s: log-likelihood %.2f, want %.1f", m.Model, m.LogLik, w.ll)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("model %s missing from output", name)
		}
	}
}

// Days instead of weeks rescale alpha by 7 and leave r unchanged (the
// time unit only scales the purchase rate).
func TestCLVFitUnitDay(t *testing.T) {
	out, err := runCLVCmd(t, "fit", "--transactions", cdnowCSV, "--calibration-end", "1997-09-30", "--unit", "day", "--model", "bgnbd")
	if err != nil {
		t.Fatal(err)
	}
	var got fitOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Models) != 1 {
		t.Fatalf("%d models, want 1", len(got.Models))
	}
	p := got.Models[0].Params
	if math.Abs(p["r"]-0.2426) > 1e-3 || math.Abs(p["alpha"]-7*4.4136) > 0.01*7*4.4136 {
		t.Errorf("day-unit params %v, want r 0.243 and alpha 7 x 4.414", p)
	}
}

func TestCLVEvaluateCDNOW(t *testing.T) {
	predPath := filepath.Join(t.TempDir(), "pred.csv")
	out, err := runCLVCmd(t, "evaluate", "--transactions", cdnowCSV,
		"--calibration-end", "1997-09-30", "--observation-end", "1998-06-30", "--predictions", predPath)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := os.ReadFile(predPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(pf)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2358 || strings.Join(rows[0], ",") != "customer_id,actual,bgnbd,mbgnbd,paretonbd" {
		t.Fatalf("predictions file: %d rows, header %q", len(rows), rows[0])
	}
	actual := 0.0
	for _, r := range rows[1:] {
		v, _ := strconv.ParseFloat(r[1], 64)
		actual += v
	}
	if actual != 1882 {
		t.Errorf("predictions file: actual total %v, want 1882", actual)
	}
	var got struct {
		Holdout float64 `json:"holdout_length"`
		Models  []struct {
			Model       string  `json:"model"`
			Predicted   float64 `json:"predicted_total"`
			Actual      float64 `json:"actual_total"`
			Correlation float64 `json:"correlation"`
			MAE         float64 `json:"mae"`
		} `json:"models"`
		Spend []struct {
			Customers int `json:"customers"`
		} `json:"spend"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Holdout != 39 {
		t.Errorf("holdout length = %v weeks, want 39", got.Holdout)
	}
	if len(got.Models) != 3 {
		t.Fatalf("%d models evaluated, want bgnbd, mbgnbd and paretonbd", len(got.Models))
	}
	for _, m := range got.Models {
		if m.Actual != 1882 {
			t.Errorf("%s: actual = %v, want 1882", m.Model, m.Actual)
		}
		if m.Predicted < 1400 || m.Predicted > 2100 || m.Correlation < 0.5 || m.MAE <= 0 || m.MAE > 1 {
			t.Errorf("%s: predicted %.1f, correlation %.3f, MAE %.3f", m.Model, m.Predicted, m.Correlation, m.MAE)
		}
	}
	if len(got.Spend) != 1 || got.Spend[0].Customers == 0 {
		t.Errorf("spend evaluation = %+v", got.Spend)
	}
}

func TestCLVScoreCDNOW(t *testing.T) {
	out, err := runCLVCmd(t, "score", "--transactions", cdnowCSV, "--calibration-end", "1997-09-30")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "customer_id,frequency,recency,T,monetary,p_alive,expected_purchases,clv,next_purchase_date" {
		t.Fatalf("header %q", got)
	}
	if len(rows) != 2358 {
		t.Fatalf("%d rows, want 2357 customers + header", len(rows))
	}
	if got := strings.Join(rows[1][:5], ","); got != "1,2,30.4286,38.8571,22.3450" {
		t.Errorf("customer 1 inputs %q, want 1,2,30.4286,38.8571,22.3450", got)
	}
	calEnd := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	dated := 0
	for _, r := range rows[1:] {
		pa, err1 := strconv.ParseFloat(r[5], 64)
		ep, err2 := strconv.ParseFloat(r[6], 64)
		v, err3 := strconv.ParseFloat(r[7], 64)
		if err1 != nil || err2 != nil || err3 != nil || pa < 0 || pa > 1 || ep < 0 || v < 0 {
			t.Fatalf("bad row %q", r)
		}
		if r[8] != "" {
			d, err := time.Parse("2006-01-02", r[8])
			if err != nil || !d.After(calEnd) || d.After(calEnd.AddDate(1, 0, 0)) {
				t.Fatalf("bad next purchase date in %q", r)
			}
			dated++
		}
	}
	if dated == 0 || dated == 2357 {
		t.Errorf("%d customers with a next purchase date: want some, not all", dated)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tx.csv")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLVErrors(t *testing.T) {
	good := "customer_id,date,amount\n1,2024-01-01,10\n1,2024-02-01,12\n2,2024-01-15,5\n"
	cases := []struct {
		name string
		file string // CSV content; "" means none written
		args []string
		want string
	}{
		{"no subcommand", "", nil, "missing subcommand"},
		{"unknown subcommand", "", []string{"predict"}, "unknown subcommand"},
		{"no file", "", []string{"fit"}, "--transactions"},
		{"missing file", "", []string{"fit", "--transactions", "/nonexistent/tx.csv"}, "no such file"},
		{"empty input", "", []string{"fit", "--transactions", "EMPTY"}, "line 1: empty input"},
		{"header only", "customer_id,date,amount\n", []string{"fit"}, "line 2: no transactions"},
		{"missing column", "customer_id,amount\n1,10\n", []string{"fit"}, "line 1: header lacks column(s) date"},
		{"bad date", "customer_id,date,amount\n1,2024-01-01,10\n1,2024-13-01,10\n", []string{"fit"}, "line 3: bad date \"2024-13-01\""},
		{"negative amount", "customer_id,date,amount\n1,2024-01-01,10\n2,2024-01-02,-3.5\n", []string{"fit"}, "line 3: negative amount"},
		{"non-numeric amount", "customer_id,date,amount\n1,2024-01-01,ten\n", []string{"fit"}, "line 2: amount \"ten\" is not a number"},
		{"missing field", "customer_id,date,amount\n1,2024-01-01,1\n1,2024-01-05\n", []string{"fit"}, "line 3"},
		{"empty id", "customer_id,date,amount\n,2024-01-01,1\n", []string{"fit"}, "line 2: empty customer_id"},
		{"bad quote", "customer_id,date,amount\n1,2024-01-01,1\n\"2,2024-01-05,3\n", []string{"fit"}, "line 3"},
		{"evaluate needs calibration end", good, []string{"evaluate"}, "--calibration-end is required"},
		{"bad calibration end", good, []string{"fit", "--calibration-end", "01/02/2024"}, "--calibration-end"},
		{"calibration after observation", good, []string{"fit", "--calibration-end", "2024-03-01", "--observation-end", "2024-02-01"}, "after observation end"},
		{"bad unit", good, []string{"fit", "--unit", "month"}, "unit \"month\""},
		{"bad model", good, []string{"fit", "--model", "nbd"}, "--model \"nbd\""},
		{"score needs one model", good, []string{"score", "--model", "all"}, "score needs one transaction model"},
		{"unknown flag", good, []string{"fit", "--bogus"}, "bogus"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.file != "" {
				args = append(args, "--transactions", writeFile(t, c.file))
			}
			for i, a := range args {
				if a == "EMPTY" {
					args[i] = writeFile(t, "")
				}
			}
			_, err := runCLVCmd(t, args...)
			if err == nil {
				t.Fatalf("no error, want one containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}
