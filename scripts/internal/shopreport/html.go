package shopreport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/winback/winback/shared/campaign"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RenderHTML renders r as one self-contained HTML page: KPI cards with
// their change, the charts (inline SVG from gonum/plot, each in a
// <figure class="chart" data-chart="NAME" data-points="N">), the cohort
// table and the campaign results. The page needs no network and no
// JavaScript, and reads on a phone.
func RenderHTML(r *Report) ([]byte, error) {
	cs, err := charts(r)
	if err != nil {
		return nil, fmt.Errorf("render report of %s: %w", r.Shop.ID, err)
	}
	v := view{R: r, Charts: cs, CSS: template.CSS(pageCSS())}
	v.Title = r.Shop.Name
	if v.Title == "" {
		v.Title = r.Shop.ID
	}
	v.Generated = r.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC")
	v.OneDay = len(r.History) <= 1
	v.Cards = cards(r, v.OneDay)
	v.Bands, v.Tiers = countRows(r.Bands), countRows(r.Tiers)
	v.Cohorts = cohortTable(r.Cohorts)
	v.Model = modelView(r.ModelFit)
	v.Campaigns, v.Totals = campaignRows(r)
	var b bytes.Buffer
	if err := page.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("render report of %s: %w", r.Shop.ID, err)
	}
	return b.Bytes(), nil
}

// WriteFiles writes r to dir (created if need be) as report.json
// (indented) and report.html.
func WriteFiles(dir string, r *Report) error {
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report.json: %w", err)
	}
	h, err := RenderHTML(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), h, 0o644)
}

// view is what the page template shows.
type view struct {
	R         *Report
	Title     string
	Generated string
	OneDay    bool
	CSS       template.CSS
	Cards     []card
	Charts    map[string][]Chart
	Bands     []countRow
	Tiers     []countRow
	Cohorts   cohortView
	Model     modelInfo
	Campaigns []campaignRow
	Totals    *campaignRow
}

// card is one KPI at a glance.
type card struct {
	Label, Value, Note string
	// Change is "▲ 5.3%" and the like; Class is good, bad or flat.
	Change, Class, Tip string
}

// direction says which way a KPI is better: up, down or neither.
type direction int

const (
	neutral direction = iota
	upIsGood
	downIsGood
)

func cards(r *Report, oneDay bool) []card {
	k, cur := r.KPIs, r.Shop.Currency
	money := func(v float64) string { return FormatMoney(v, cur) }
	// Totals read better in whole currency units ("€542,669").
	whole := func(v float64) string { return FormatMoneyWhole(v, cur) }
	count := func(v float64) string { return FormatInt(int64(math.Round(v))) }
	// An expected count is shown with a decimal while it is small.
	expected := func(v float64) string {
		if math.Abs(v) < 100 {
			return FormatNumber(v, 1)
		}
		return count(v)
	}
	pct := FormatPercent
	two := func(v float64) string { return FormatNumber(v, 2) }
	mk := func(label, note string, kpi KPI, f func(float64) string, better direction, rate bool) card {
		c := card{Label: label, Value: f(kpi.Value), Note: note, Class: "flat"}
		c.Tip = fmt.Sprintf("%s on %s, %s on %s", f(kpi.First), k.Since, f(kpi.Value), r.AsOf)
		switch {
		case oneDay:
			c.Change, c.Tip = "first scored day", ""
		case kpi.Change == 0:
			c.Change = "no change"
		default:
			arrow := "▲"
			if kpi.Change < 0 {
				arrow = "▼"
			}
			if kpi.RelativeChange != nil {
				c.Change = arrow + " " + FormatPercent(math.Abs(*kpi.RelativeChange))
			} else {
				c.Change = arrow + " " + f(math.Abs(kpi.Change))
			}
			if rate {
				c.Change += " (" + signed(kpi.Change*100, 1) + " pp)"
			}
			if better == upIsGood && kpi.Change > 0 || better == downIsGood && kpi.Change < 0 {
				c.Class = "good"
			} else if better != neutral {
				c.Class = "bad"
			}
		}
		return c
	}
	return []card{
		mk("Customers", "with a paid order", k.Customers, count, upIsGood, false),
		mk("Active customers", "expected still buying (Σ P(alive))", k.ActiveCustomers, expected, upIsGood, false),
		mk("Churn rate", "expected share who stopped buying", k.ChurnRate, pct, downIsGood, true),
		mk("Repeat purchase rate", "bought on two days or more", k.RepeatPurchaseRate, pct, upIsGood, true),
		mk("Average order value", "net of refunds", k.AverageOrderValue, money, upIsGood, false),
		mk("Purchase frequency", "paid orders per customer", k.PurchaseFrequency, two, upIsGood, false),
		mk("Revenue to date", "net spend of all customers", k.HistoricCLVTotal, whole, upIsGood, false),
		mk("Predicted CLV", "next 12 months, all customers", k.PredictedCLVTotal, whole, upIsGood, false),
		mk("Top 20% revenue share", "of revenue from the best fifth", k.Top20RevenueShare, pct, neutral, true),
		mk("Paid orders", "to date", k.PaidOrders, count, upIsGood, false),
	}
}

// signed writes v with an explicit sign ("+1.2", "−0.4").
func signed(v float64, decimals int) string {
	s := FormatNumber(v, decimals)
	if !strings.HasPrefix(s, minus) && strings.Trim(s, "0.,") != "" {
		s = "+" + s
	}
	return s
}

type countRow struct{ Name, Customers, Share string }

func countRows(cs []Count) []countRow {
	out := make([]countRow, len(cs))
	for i, c := range cs {
		out[i] = countRow{segmentLabel(c.Name), FormatInt(c.Customers), FormatPercent(c.Share)}
	}
	return out
}

// cohortView is the retention triangle as a heat-map table: months 1.. after
// the acquisition month (month 0 is everyone, by definition).
type cohortView struct {
	Months []string
	Rows   []cohortRow
	// Max is the darkest cell's share.
	Max string
}

type cohortRow struct {
	Month, Customers string
	Cells            []cohortCell
}

// cohortCell is one share; Class h0..h10 is its shade relative to the
// table's largest share ("na" for a month not reached yet).
type cohortCell struct {
	Text, Class, Tip string
}

func cohortTable(c Cohorts) cohortView {
	var v cohortView
	width := 0
	top := 0.0
	for _, co := range c.Cohorts {
		width = max(width, len(co.Retention)-1)
		for _, s := range co.Retention[min(1, len(co.Retention)):] {
			top = max(top, s)
		}
	}
	for k := 1; k <= width; k++ {
		v.Months = append(v.Months, fmt.Sprintf("M%d", k))
	}
	v.Max = FormatPercent(top)
	for _, co := range c.Cohorts {
		row := cohortRow{Month: co.Month, Customers: FormatInt(co.Customers)}
		for k := 1; k <= width; k++ {
			if k >= len(co.Retention) {
				row.Cells = append(row.Cells, cohortCell{Class: "na"})
				continue
			}
			level := 0
			if top > 0 {
				level = int(math.Round(10 * co.Retention[k] / top))
			}
			row.Cells = append(row.Cells, cohortCell{Text: FormatPercent(co.Retention[k]), Class: fmt.Sprintf("h%d", level),
				Tip: fmt.Sprintf("%s of %s customers bought in month %d", FormatInt(co.Active[k]), FormatInt(co.Customers), k)})
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// modelInfo is the model fit's table.
type modelInfo struct {
	Name, Reason, LogLik, Omitted, Customers, Actual, Predicted, Period string
	Params                                                              []param
}

type param struct{ Name, Value, StdErr string }

var paramNames = map[string]string{"alpha": "α", "beta": "β", "gap_days": "mean gap (days)", "k": "k (prior gaps)"}

func modelView(f ModelFit) modelInfo {
	m := modelInfo{Name: modelLabel(f.Model), Reason: f.Reason, Omitted: f.Omitted, Period: f.Period,
		Customers: FormatInt(f.Customers), Actual: FormatInt(f.ActualTotal), Predicted: FormatNumber(f.PredictedTotal, 0)}
	if f.LogLikelihood != nil {
		m.LogLik = FormatNumber(*f.LogLikelihood, 2)
	}
	names := make([]string, 0, len(f.Params))
	for n := range f.Params {
		names = append(names, n)
	}
	// The papers' order: r, alpha, then a, b or s, beta.
	order := []string{"r", "alpha", "a", "b", "s", "beta"}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	for _, n := range names {
		p := param{Name: n, Value: FormatNumber(sig(f.Params[n], 4), 4)}
		if l, ok := paramNames[n]; ok {
			p.Name = l
		}
		p.Value = strings.TrimRight(strings.TrimRight(p.Value, "0"), ".")
		if se, ok := f.StdErr[n]; ok {
			p.StdErr = "± " + strings.TrimRight(strings.TrimRight(FormatNumber(sig(se, 2), 4), "0"), ".")
		}
		m.Params = append(m.Params, p)
	}
	return m
}

// campaignRow is one line of the campaign table.
type campaignRow struct {
	ID, Status, Selected, Holdout, Mailed, Delivered, Bounced, Unsubscribed string
	MailedRate, HoldoutRate, Uplift, Revenue, Incremental, Discount         string
	Measured                                                                bool
}

func campaignRows(r *Report) ([]campaignRow, *campaignRow) {
	cur := r.Shop.Currency
	var rows []campaignRow
	for _, c := range r.Campaigns {
		row := campaignRow{ID: c.CampaignID, Status: string(c.Status)}
		if c.Status == campaign.StatusSending && c.Report != nil && c.Report.Queued == 0 {
			row.Status = "sent" // nothing left to send: "sending" is only the state it rests in
		}
		if rep := c.Report; rep != nil {
			row.Measured = true
			row.Selected, row.Holdout, row.Mailed = FormatInt(int64(rep.Selected)), FormatInt(int64(rep.Holdout)), FormatInt(int64(rep.Mailed))
			row.Delivered, row.Bounced, row.Unsubscribed = FormatInt(int64(rep.Delivered)), FormatInt(int64(rep.Bounced)), FormatInt(int64(rep.Unsubscribed))
			row.MailedRate = rate(rep.MailedGroup.Converted, rep.MailedGroup.Customers)
			row.HoldoutRate = rate(rep.HoldoutGroup.Converted, rep.HoldoutGroup.Customers)
			row.Uplift = "–"
			if u := rep.Uplift; u.Defined {
				row.Uplift = fmt.Sprintf("%s pp [%s, %s]", signed(u.Estimate*100, 1), signed(u.Lower*100, 1), signed(u.Upper*100, 1))
			}
			row.Revenue = FormatMoney(float64(rep.MailedGroup.Revenue), cur)
			row.Incremental = FormatMoney(float64(rep.IncrementalRevenue), cur)
			row.Discount = FormatMoney(float64(rep.DiscountCost), cur)
		}
		rows = append(rows, row)
	}
	t := r.CampaignTotals
	if t.Measured == 0 {
		return rows, nil
	}
	return rows, &campaignRow{ID: fmt.Sprintf("All %d measured", t.Measured), Measured: true,
		Selected: FormatInt(int64(t.Selected)), Holdout: FormatInt(int64(t.Holdout)), Mailed: FormatInt(int64(t.Mailed)),
		Delivered: FormatInt(int64(t.Delivered)), Bounced: FormatInt(int64(t.Bounced)), Unsubscribed: FormatInt(int64(t.Unsubscribed)),
		MailedRate: rate(t.MailedGroup.Converted, t.MailedGroup.Customers), HoldoutRate: rate(t.HoldoutGroup.Converted, t.HoldoutGroup.Customers),
		Uplift:  "–",
		Revenue: FormatMoney(float64(t.MailedGroup.Revenue), cur), Incremental: FormatMoney(float64(t.IncrementalRevenue), cur),
		Discount: FormatMoney(float64(t.DiscountCost), cur)}
}

// rate is "12.5% (3 of 24)", or "–" without customers.
func rate(k, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%s (%s of %s)", FormatPercent(float64(k)/float64(n)), FormatInt(int64(k)), FormatInt(int64(n)))
}

// pageCSS is the page's style sheet: a responsive grid of cards and
// charts, and the heat-map shades h0..h10.
func pageCSS() string {
	var b strings.Builder
	b.WriteString(baseCSS)
	for level := 0; level <= 10; level++ {
		fmt.Fprintf(&b, ".h%d{background:rgba(37,99,235,%.2f)", level, 0.04+0.086*float64(level))
		if level >= 6 {
			b.WriteString(";color:#fff")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

const baseCSS = `*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1e293b;background:#f8fafc;line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:1rem}
header{padding:1rem 0 .5rem}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.2rem;margin:2rem 0 .75rem;padding-bottom:.25rem;border-bottom:1px solid #e2e8f0}
.meta{color:#64748b;margin:0;font-size:.9rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,10.5rem),1fr));gap:.75rem}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:.6rem;padding:.75rem .85rem}
.card .label{font-size:.8rem;color:#475569;font-weight:600}
.card .value{font-size:clamp(1.05rem,5vw,1.35rem);font-weight:700;margin:.15rem 0;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .note{font-size:.75rem;color:#64748b}
.change{font-size:.8rem;font-weight:600;margin-top:.25rem}
.good{color:#15803d}.bad{color:#b91c1c}.flat{color:#64748b}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,26rem),1fr));gap:1rem}
figure{margin:0;background:#fff;border:1px solid #e2e8f0;border-radius:.6rem;padding:.75rem}
figure.chart svg{display:block;width:100%;height:auto}
figcaption{font-size:.85rem;color:#475569;margin-top:.5rem}
figcaption strong{display:block;color:#1e293b;font-size:.95rem;margin-bottom:.15rem}
.how{display:block}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums;background:#fff}
th,td{padding:.3rem .5rem;border-bottom:1px solid #e2e8f0;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:#f1f5f9;position:sticky;top:0}
tfoot td{font-weight:700;border-top:2px solid #cbd5e1}
.cohorts td{min-width:3.2rem}
.na{background:#fff}
.small{font-size:.85rem;color:#475569}
.tables{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,16rem),1fr));gap:1rem;margin-top:1rem}
.empty{background:#fff;border:1px dashed #cbd5e1;border-radius:.6rem;padding:1rem;color:#64748b}
.alert{background:#fef2f2;border:1px solid #fca5a5;border-radius:.6rem;padding:.8rem 1rem;color:#7f1d1d}
footer{color:#94a3b8;font-size:.8rem;margin:2rem 0 1rem}
`

// chartsTmpl renders the charts of one section.
const chartsTmpl = `{{define "charts"}}{{if .}}<div class="charts">{{range .}}
<figure class="chart" data-chart="{{.Name}}" data-points="{{.Points}}">
{{.SVG}}
<figcaption><strong>{{.Title}}</strong><span class="how">How to read this: {{.How}}</span></figcaption>
</figure>{{end}}
</div>{{end}}{{end}}`

var page = template.Must(template.Must(template.New("page").Parse(chartsTmpl)).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{.Title}} · retention report {{.R.AsOf}}</title>
<link rel="icon" href="data:,">
<style>
{{.CSS}}</style>
</head>
<body>
<main>
<header>
<h1>{{.Title}}</h1>
<p class="meta">Retention report as of <strong>{{.R.AsOf}}</strong> ({{.R.Shop.Timezone}}) · generated {{.Generated}} · {{.R.Shop.Currency}} · model: {{.Model.Name}}{{if not .OneDay}} · changes since {{.R.KPIs.Since}}{{end}}</p>
</header>

<section aria-labelledby="glance">
<h2 id="glance">At a glance</h2>
<div class="cards">{{range .Cards}}
<div class="card"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div><div class="note">{{.Note}}</div><div class="change {{.Class}}"{{if .Tip}} title="{{.Tip}}"{{end}}>{{.Change}}</div></div>{{end}}
</div>
</section>

<section aria-labelledby="trends">
<h2 id="trends">Trends</h2>
{{template "charts" index .Charts "trends"}}
</section>

<section aria-labelledby="customers">
<h2 id="customers">Customers</h2>
{{template "charts" index .Charts "customers"}}
<div class="tables">
<div class="scroll"><table><caption class="small">Churn-risk bands</caption><thead><tr><th>Band</th><th>Customers</th><th>Share</th></tr></thead><tbody>{{range .Bands}}<tr><td>{{.Name}}</td><td>{{.Customers}}</td><td>{{.Share}}</td></tr>{{end}}</tbody></table></div>
<div class="scroll"><table><caption class="small">Predicted-spend tiers</caption><thead><tr><th>Tier</th><th>Customers</th><th>Share</th></tr></thead><tbody>{{range .Tiers}}<tr><td>{{.Name}}</td><td>{{.Customers}}</td><td>{{.Share}}</td></tr>{{end}}</tbody></table></div>
</div>
</section>

<section aria-labelledby="retention">
<h2 id="retention">Retention</h2>
{{if .Cohorts.Rows}}<figure class="table">
<div class="scroll"><table class="cohorts"><thead><tr><th>First purchase</th><th>Customers</th>{{range .Cohorts.Months}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Cohorts.Rows}}<tr><td>{{.Month}}</td><td>{{.Customers}}</td>{{range .Cells}}<td class="{{.Class}}"{{if .Tip}} title="{{.Tip}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody></table></div>
<figcaption><strong>Monthly cohorts</strong><span class="how">How to read this: each row is the customers who first bought in that month; M1, M2… are the shares of them who bought again 1, 2… months later{{if .R.Cohorts.LastMonthPartial}} (the last month runs to {{.R.Cohorts.Through}} only){{end}}. {{if .Cohorts.Months}}Darker is higher; the darkest cell is {{.Cohorts.Max}}.{{else}}No cohort is a month old yet.{{end}}</span></figcaption>
</figure>{{else}}<p class="empty">No customers yet.</p>{{end}}
{{template "charts" index .Charts "retention"}}
</section>

<section aria-labelledby="model">
<h2 id="model">Model fit</h2>
<div class="tables">
<div class="scroll"><table><caption class="small">{{.Model.Name}}{{if .Model.LogLik}}, log-likelihood {{.Model.LogLik}}{{end}}</caption><thead><tr><th>Parameter</th><th>Value</th><th>Std. error</th></tr></thead><tbody>{{range .Model.Params}}<tr><td>{{.Name}}</td><td>{{.Value}}</td><td>{{.StdErr}}</td></tr>{{end}}</tbody></table></div>
<div><p class="small">Why this model: {{.Model.Reason}}</p>{{if not .Model.Omitted}}<p class="small">Tracked: {{.Model.Customers}} customers, {{.Model.Actual}} repeat purchases, {{.Model.Predicted}} predicted by the model.</p>{{end}}</div>
</div>
{{if .Model.Omitted}}<p class="empty">No model-fit chart: {{.Model.Omitted}}.</p>{{else}}{{template "charts" index .Charts "model"}}{{end}}
</section>

<section aria-labelledby="campaigns">
<h2 id="campaigns">Win-back campaigns</h2>
{{with .R.SendingStopped}}<p class="alert" role="alert"><strong>Sending is stopped.</strong> The safety valve stopped this shop's e-mail on {{.At.Format "2 January 2006"}} after campaign {{.CampaignID}}: {{.Reason}}. No campaign runs until an operator lifts the stop (<code>winback shop resume-sending</code>) after cleaning the list.</p>
{{end}}{{if .Campaigns}}{{template "charts" index .Charts "campaigns"}}
<figure class="table">
<div class="scroll"><table><thead><tr><th>Campaign</th><th>Status</th><th>Selected</th><th>Holdout</th><th>Mailed</th><th>Delivered</th><th>Bounced</th><th>Unsubscribed</th><th>Converted, mailed</th><th>Converted, holdout</th><th>Uplift [95%]</th><th>Revenue</th><th>Incremental</th><th>Discount cost</th></tr></thead>
<tbody>{{range .Campaigns}}<tr><td>{{.ID}}</td><td>{{.Status}}</td>{{if .Measured}}<td>{{.Selected}}</td><td>{{.Holdout}}</td><td>{{.Mailed}}</td><td>{{.Delivered}}</td><td>{{.Bounced}}</td><td>{{.Unsubscribed}}</td><td>{{.MailedRate}}</td><td>{{.HoldoutRate}}</td><td>{{.Uplift}}</td><td>{{.Revenue}}</td><td>{{.Incremental}}</td><td>{{.Discount}}</td>{{else}}<td colspan="12">not measured yet</td>{{end}}</tr>
{{end}}</tbody>{{with .Totals}}
<tfoot><tr><td>{{.ID}}</td><td></td><td>{{.Selected}}</td><td>{{.Holdout}}</td><td>{{.Mailed}}</td><td>{{.Delivered}}</td><td>{{.Bounced}}</td><td>{{.Unsubscribed}}</td><td>{{.MailedRate}}</td><td>{{.HoldoutRate}}</td><td>{{.Uplift}}</td><td>{{.Revenue}}</td><td>{{.Incremental}}</td><td>{{.Discount}}</td></tr></tfoot>{{end}}</table></div>
<figcaption><strong>Campaign results</strong><span class="how">How to read this: both groups are counted as assigned (intention to treat); "converted" is a paid order within the attribution window or one with the customer's coupon. Uplift is in percentage points with its 95% interval; the totals pool the measured campaigns.</span></figcaption>
</figure>{{else}}<p class="empty">No campaigns yet: <code>winback campaign run</code> starts one.</p>{{end}}
</section>

<footer>winback · the same figures are in report.json · every figure is as of the end of {{.R.AsOf}} in {{.R.Shop.Timezone}}</footer>
</main>
</body>
</html>
`))
